import { Composer, InputFile, type Context } from 'grammy'
import type { Deps } from '../../deps.js'
import { readinessAnswer, sleepAnswer } from './report.js'

/**
 * `/sleep` (last night and a 7-night chart as a photo, the text as its caption) and `/readiness`
 * for the Oura provider entries `providers` (connected one first).
 */
export function ouraComposer(deps: Pick<Deps, 'config' | 'db' | 'clock'>, providers: readonly string[]): Composer<Context> {
  const composer = new Composer<Context>()
  composer.command('sleep', async (ctx) => {
    const answer = sleepAnswer(deps, providers)
    if (!answer.nights) return void (await ctx.reply(answer.text, answer.keyboard ? { reply_markup: answer.keyboard } : {}))
    // Best effort: a failed chat action must not cost the answer.
    await ctx.replyWithChatAction('upload_photo').catch(() => {})
    const { renderSleepChart } = await import('./chart.js')
    await ctx.replyWithPhoto(new InputFile(await renderSleepChart(answer.nights), 'sleep-7d.png'), { caption: answer.text })
  })
  composer.command('readiness', async (ctx) => {
    const answer = readinessAnswer(deps, providers)
    await ctx.reply(answer.text, answer.keyboard ? { reply_markup: answer.keyboard } : {})
  })
  return composer
}
