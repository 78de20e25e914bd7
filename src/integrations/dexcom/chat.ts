import { Composer, InputFile, type Context } from 'grammy'
import type { Deps } from '../../deps.js'
import { glucoseReport } from './report.js'

/**
 * `/glucose`: the latest reading with its trend and age, time in range over 24 h, and the 24 h
 * chart as a photo (the text as its caption) once there are readings. While the chart renders
 * the chat shows "sending photo…".
 */
export function glucoseComposer(deps: Pick<Deps, 'config' | 'db' | 'clock'>): Composer<Context> {
  const composer = new Composer<Context>()
  composer.command('glucose', async (ctx) => {
    const report = glucoseReport(deps)
    if (!report.hasChart) return void (await ctx.reply(report.text, report.keyboard ? { reply_markup: report.keyboard } : {}))
    // Best effort: a failed chat action must not cost the answer.
    await ctx.replyWithChatAction('upload_photo').catch(() => {})
    await ctx.replyWithPhoto(new InputFile(await report.chart(), 'glucose-24h.png'), { caption: report.text })
  })
  return composer
}
