/** A bad option value fails in commander (exit 2) before any command runs. No .env(): only config.ts reads the environment. */
import { InvalidArgumentError, Option } from 'commander';
import { SETTINGS, type Parsed } from './config.js';

/** An argParser from a parser of config.ts's kind; commander's message names the option and the value. */
export function parsedBy<T>(parse: (raw: string) => Parsed<T>): (raw: string) => T {
  return (raw) => {
    const parsed = parse(raw);
    if (!parsed.ok) throw new InvalidArgumentError(`It must be ${parsed.expected}.`);
    return parsed.value;
  };
}

/** An option that overrides the setting `env` (read by config.ts), with the same values unless `parse` says otherwise. */
export function settingOption(flags: string, description: string, env: string, parse?: (raw: string) => Parsed<unknown>): Option {
  const setting = SETTINGS.find((s) => s.env === env);
  if (!setting) throw new Error(`${flags}: no setting ${env} in config.ts`);
  const option = new Option(flags, `${description} (default: ${env}${setting.default ? `, else ${setting.default}` : ''})`);
  return option.isBoolean() ? option : option.argParser(parsedBy(parse ?? setting.parse));
}

/** The jobs with a deactivation guard take --force, and run-all passes it on to them. */
export function forceOption(): Option {
  return new Option('--force', 'apply even if more than MAX_DEACTIVATE_SHARE of the active rows would be deactivated');
}
