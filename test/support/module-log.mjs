// `node --import ./test/support/module-log.mjs …` appends the URL of every module the ESM loader
// resolves to the file named by $MODULE_LOG: which libraries a command loaded, without timing it.
import { register } from 'node:module'

register(new URL('./module-log-hooks.mjs', import.meta.url))
