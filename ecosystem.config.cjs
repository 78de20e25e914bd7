// pm2: one instance of the compiled daemon (`npm run build` first). A single instance matters:
// two Telegram pollers with one token get 409, and one process owns the scheduler.
module.exports = {
  apps: [
    {
      name: 'latchkey',
      script: 'dist/src/cli/bin.js',
      args: 'serve',
      node_args: '--enable-source-maps',
      instances: 1,
      exec_mode: 'fork',
      // pm2 sends SIGINT, then SIGKILL after kill_timeout: the daemon needs up to ~5 s to stop
      // its jobs (bounded in src/jobs/scheduler.ts), so leave room.
      kill_timeout: 10000,
      wait_ready: true,
      listen_timeout: 15000,
      exp_backoff_restart_delay: 200,
      env: { NODE_ENV: 'production' },
    },
  ],
}
