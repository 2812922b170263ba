// `quotient config`: the effective configuration (every setting of src/config.ts, from
// its flag, its QUOTIENT_* variable or its default) with secrets redacted.
import type { Command } from 'commander';
import { effectiveSettings, GROUP_ORDER, redact, SETTINGS, settingOption } from '../config.ts';

export function registerConfigCommand(program: Command): void {
  const command = program
    .command('config')
    .description(
      'print the effective configuration (flags, QUOTIENT_* variables, defaults), secrets redacted',
    );
  for (const s of SETTINGS) command.addOption(settingOption(s.name));
  command.option('--json', 'print JSON').action((flags: { json?: boolean }, self: Command) => {
    const settings = effectiveSettings(self.opts(), (key) => self.getOptionValueSource(key))
      .sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group))
      .map((s) => ({
        name: s.name,
        env: s.env,
        group: s.group,
        value: redact(s, s.value),
        source: s.source,
        ...(s.secret ? { secret: true } : {}),
      }));
    if (flags.json) return console.log(JSON.stringify(settings, null, 2));
    const width = Math.max(...SETTINGS.map((s) => s.name.length));
    let group = '';
    for (const s of settings) {
      if (s.group !== group) {
        group = s.group;
        console.log(`\n${group}`);
      }
      const shown = s.source === 'unset' ? '(unset)' : s.value;
      console.log(
        `  ${s.name.padEnd(width)}  ${shown}  [${s.source === 'flag' ? `--${s.name}` : s.source === 'env' ? s.env : s.source}]`,
      );
    }
  });
}
