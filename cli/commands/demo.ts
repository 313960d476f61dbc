// `npm run demo`: an aggregator and three agents on this machine, each a real process with its own state
// directory, and a live view of the nodes as the aggregator sees them, until Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { create } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { createClient } from '../../common/grpc/adapter.ts';
import { IntegrationService, ListNodesRequestSchema } from '../../proto/gen/vigil/v1/integration_pb.js';
import { table } from '../format.ts';
import { NODE_HEADER, nodeRow } from './nodes.ts';

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function startChild(args: string[], logFile: string): ChildProcess {
  const child = spawn(process.execPath, [resolve('cli/main.ts'), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.pipe(createWriteStream(logFile, { flags: 'a' }));
  return child;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('Run an aggregator and three agents on this machine and show live what the aggregator sees')
    .option('--dir <path>', 'where state and logs go', '.vigil/demo')
    .option('--nodes <n>', 'how many agents', '3')
    .option('--duration <seconds>', 'stop by itself after this long (default: until Ctrl-C)')
    .action(async (opts: { dir: string; nodes: string; duration?: string }) => {
      const dir = resolve(opts.dir, String(Date.now()));
      const logs = join(dir, 'logs');
      mkdirSync(logs, { recursive: true });
      const grpcPort = await freePort();
      const children: ChildProcess[] = [];
      children.push(
        startChild(
          [
            'aggregator',
            '--grpc-host',
            '127.0.0.1',
            '--grpc-port',
            String(grpcPort),
            '--http-port',
            '0',
            '--state-dir',
            join(dir, 'aggregator'),
          ],
          join(logs, 'aggregator.log'),
        ),
      );
      const count = Math.max(1, Number(opts.nodes) || 3);
      for (let i = 1; i <= count; i++) {
        const node = `demo-node-${i}`;
        children.push(
          startChild(
            [
              'agent',
              '--node',
              node,
              '--aggregator',
              `127.0.0.1:${grpcPort}`,
              '--state-dir',
              join(dir, node),
              '--http-port',
              '0',
              '--window-seconds',
              '2',
            ],
            join(logs, `${node}.log`),
          ),
        );
      }
      const client = createClient(IntegrationService, `127.0.0.1:${grpcPort}`);
      const tty = process.stdout.isTTY;
      process.stdout.write(
        `Vigil demo: aggregator on 127.0.0.1:${grpcPort}, ${count} agents; state and logs in ${dir}\n` +
          `Press Ctrl-C to stop.\n\n`,
      );
      let ticks = 0;
      const render = async () => {
        ticks++;
        let body: string;
        try {
          const res = await client.listNodes(create(ListNodesRequestSchema), { deadline: Date.now() + 2000 });
          body = res.nodes.length
            ? table(
                NODE_HEADER,
                res.nodes.map((n) => nodeRow(n)),
              )
            : 'waiting for agents to connect…';
        } catch {
          body = 'waiting for the aggregator…';
        }
        const stamp = new Date().toISOString().slice(11, 19);
        if (tty) process.stdout.write(`\x1b[4;1H\x1b[J${stamp}\n${body}\n`);
        else if (ticks % 5 === 0) process.stdout.write(`${stamp}\n${body}\n\n`);
      };
      if (tty)
        process.stdout.write(
          '\x1b[2J\x1b[1;1H' +
            `Vigil demo: aggregator on 127.0.0.1:${grpcPort}, ${count} agents (Ctrl-C stops)\nstate and logs: ${dir}\n`,
        );
      const timer = setInterval(() => void render(), 1000);
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        clearInterval(timer);
        await render();
        client.close();
        // Agents first, so their last windows reach the aggregator.
        const exits = (list: ChildProcess[]) =>
          Promise.all(
            list.map(
              (c) =>
                new Promise((ok) =>
                  c.exitCode !== null ? ok(null) : (c.once('exit', ok), c.kill('SIGTERM')),
                ),
            ),
          );
        await exits(children.slice(1));
        await exits(children.slice(0, 1));
        process.stdout.write('\ndemo stopped\n');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      if (opts.duration) setTimeout(() => void stop(), Number(opts.duration) * 1000);
    });
}
