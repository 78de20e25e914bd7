// Minimal ambient types for semver 7 (no @types package installed): what test/install uses.
declare module 'semver' {
  const semver: { satisfies(version: string, range: string, options?: { includePrerelease?: boolean }): boolean }
  export default semver
}
