import { createInterface } from 'node:readline';
import { planRestore, runRestore } from '../../engine/restore';
import type { RestorePlan } from '../../engine/restore/types';
import { ExitCode, UsageError } from '../cli';
import { emit, notice, printText } from '../output';
import { renderPlanTable, renderRestoreSummary } from '../planRender';
import type { CliCommand } from './index';
import { RESTORE_OPTIONS, RESTORE_USAGE, restoreConsole, restoreRequestFrom } from './plan';
import { cancellable, parseCommandArgs, runCommand, withRepository } from './repoAccess';

/**
 * `lifeboat restore`: plan, apply, verify. Writing into a cluster needs a
 * confirmation naming the target context: typed at the terminal after the
 * plan is shown, or `--yes` for scripts. Without a terminal and without
 * `--yes` nothing is written.
 */

/** Reads one line from the terminal; Ctrl-C or end of input answers "". */
function askLine(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let answered = false;
    const finish = (answer: string): void => {
      if (answered) return;
      answered = true;
      rl.close();
      resolve(answer.trim());
    };
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      finish('');
    });
    rl.on('close', () => finish(''));
    rl.question(question, finish);
  });
}

/** Shows the plan and asks for the target context's name; true when it was typed exactly. */
async function confirm(plan: RestorePlan): Promise<boolean> {
  const context = plan.target.context;
  if (plan.target.production) {
    process.stderr.write(
      [
        '',
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
        `!!  ${context} is a PRODUCTION context (cluster ${plan.target.cluster}, ${plan.target.server})`,
        '!!  This restore writes into it.',
        '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
        '',
      ].join('\n'),
    );
  }
  const answer = await askLine(`Restore into context ${context}? Type the context name to confirm: `);
  return answer === context;
}

const restore: CliCommand = {
  name: 'restore',
  summary: 'Restore a snapshot (or part of it) into a context: plan, confirm, apply, verify',
  usage: `${RESTORE_USAGE}
  --yes                          do not ask: the target is the --to context
                                 (needed when there is no terminal to ask on)

At a terminal the plan is shown first, and the restore goes ahead only when
the target context's name is typed back. Each write is logged as it is done;
a restore that stopped part way is continued by running it again.

Exit status: 0 restored and verified, 1 failed, 2 bad command line (or no
--yes without a terminal), 3 restored with objects or volumes left not as
planned (listed), 130 cancelled or not confirmed.`,
  run: async (args) => {
    const { values, positionals, format } = parseCommandArgs(args, { ...RESTORE_OPTIONS, yes: { type: 'boolean', short: 'y' } }, { min: 1, max: 1, names: 'SNAPSHOT' });
    const request = restoreRequestFrom(positionals[0], values);
    const yes = values.yes === true;
    if (!yes && !process.stdin.isTTY) {
      throw new UsageError(
        `a restore writes into context ${request.context}: pass --yes to confirm it (there is no terminal to ask on). "lifeboat plan" shows what it would do.`,
      );
    }
    return runCommand('restore', format, () =>
      withRepository(values, (repo) =>
        cancellable(async (signal) => {
          const color = process.stdout.isTTY === true;
          let confirmed = request.context!;
          if (!yes) {
            const quiet = restoreConsole(values, false);
            let plan: RestorePlan;
            try {
              plan = await planRestore(request, { repo, signal, log: quiet.log, onProgress: quiet.onProgress });
            } finally {
              quiet.display.done();
            }
            printText(renderPlanTable(plan, { color }));
            process.stdout.write('\n');
            if (!(await confirm(plan))) {
              notice(`not confirmed: nothing was written to ${plan.target.context}`);
              return ExitCode.cancelled;
            }
            confirmed = plan.target.context;
          }
          const { log, display, onProgress } = restoreConsole(values, format !== 'json');
          let result;
          try {
            result = await runRestore(request, { repo, signal, log, onProgress, confirmContext: confirmed });
          } finally {
            display.done();
          }
          emit(format, result, () => renderRestoreSummary(result, { color }));
          return result.complete ? ExitCode.ok : ExitCode.problems;
        }),
      ),
    );
  },
};

export const restoreCommands: CliCommand[] = [restore];
