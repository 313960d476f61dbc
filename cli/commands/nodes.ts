import { create } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { createClient } from '../../common/grpc/adapter.ts';
import { channelCredentials } from '../../common/grpc/credentials.ts';
import {
  IntegrationService,
  ListNodesRequestSchema,
  type NodeStatus,
} from '../../proto/gen/vigil/v1/integration_pb.js';
import { formatAge, formatBytes, table } from '../format.ts';

export function nodeRow(n: NodeStatus, now = Date.now()): string[] {
  const metric = (name: string) =>
    n.latest.find((d) => d.name === name && Object.keys(d.labels).length === 0);
  const cpu = metric('node.cpu.utilization');
  const mem = metric('node.memory.used_bytes');
  return [
    n.node,
    n.connected ? 'connected' : 'gone',
    formatAge(Number(n.lastSeenMs), now),
    String(n.lastSeq),
    String(n.droppedBatches),
    cpu ? `${(cpu.mean * 100).toFixed(0)}%` : '—',
    mem ? `${formatBytes(mem.last)}${mem.capacity ? ` / ${formatBytes(mem.capacity)}` : ''}` : '—',
    n.agentVersion,
  ];
}

export const NODE_HEADER = ['NODE', 'STATUS', 'LAST SEEN', 'SEQ', 'DROPPED', 'CPU', 'MEMORY', 'AGENT'];

export function register(program: Command): void {
  program
    .command('nodes')
    .description('List the nodes the aggregator knows, with their status and latest metrics')
    .option(
      '--aggregator <host:port>',
      'aggregator gRPC address [env VIGIL_AGGREGATOR]',
      process.env['VIGIL_AGGREGATOR'] ?? 'localhost:7400',
    )
    .option('--json', 'print JSON instead of a table')
    .option('--tls-ca <file>', 'CA file [env VIGIL_TLS_CA]', process.env['VIGIL_TLS_CA'])
    .option('--tls-cert <file>', 'client certificate [env VIGIL_TLS_CERT]', process.env['VIGIL_TLS_CERT'])
    .option('--tls-key <file>', 'client key [env VIGIL_TLS_KEY]', process.env['VIGIL_TLS_KEY'])
    .action(
      async (opts: {
        aggregator: string;
        json?: boolean;
        tlsCa?: string;
        tlsCert?: string;
        tlsKey?: string;
      }) => {
        const client = createClient(IntegrationService, opts.aggregator, channelCredentials(opts));
        try {
          const res = await client.listNodes(create(ListNodesRequestSchema), { deadline: Date.now() + 5000 });
          if (opts.json) {
            const plain = res.nodes.map((n) => ({
              node: n.node,
              connected: n.connected,
              lastSeenMs: Number(n.lastSeenMs),
              lastSeq: Number(n.lastSeq),
              batches: Number(n.batches),
              droppedBatches: Number(n.droppedBatches),
              rejectedBatches: Number(n.rejectedBatches),
              agentVersion: n.agentVersion,
              latest: Object.fromEntries(
                n.latest.filter((d) => Object.keys(d.labels).length === 0).map((d) => [d.name, d.last]),
              ),
            }));
            process.stdout.write(`${JSON.stringify(plain, null, 2)}\n`);
          } else {
            process.stdout.write(
              `${table(
                NODE_HEADER,
                res.nodes.map((n) => nodeRow(n)),
              )}\n`,
            );
          }
        } catch (error) {
          process.stderr.write(
            `vigil nodes: cannot reach the aggregator at ${opts.aggregator}: ${(error as Error).message}\n`,
          );
          process.exitCode = 1;
        } finally {
          client.close();
        }
      },
    );
}
