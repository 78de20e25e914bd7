// The chart font ships with the package (Inter, OFL, as TTF from @expo-google-fonts/inter), so a
// chart looks the same on every machine: a bare Debian with only chromium installed has no
// fonts-dejavu, and resvg draws no text at all when it finds no font.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** The family name inside the font files, for `font-family`. */
export const CHART_FONT_FAMILY = 'Inter'

/** Regular for labels, SemiBold for the title and the current value. */
export const CHART_FONT_FILES: readonly string[] = [
  require.resolve('@expo-google-fonts/inter/400Regular/Inter_400Regular.ttf'),
  require.resolve('@expo-google-fonts/inter/600SemiBold/Inter_600SemiBold.ttf'),
]
