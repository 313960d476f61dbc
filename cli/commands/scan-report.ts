import { readFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { IngestScanReportRequestSchema } from '../../proto/gen/vigil/v1/incidents_pb.js';
import { type ConnectionOptions, incidentClient, withConnectionOptions } from './incidents.ts';

// `vigil scan-report FILE`: hands a Trivy JSON report (`trivy image -f json …`) to the aggregator, which
// joins its vulnerabilities to the pods running that image (docs/vulnerabilities.md).
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('scan-report <file>')
      .description(
        'Send a Trivy JSON report to the aggregator; prints the image, CVE counts and affected workloads',
      )
      .option('--format <name>', 'report format', 'trivy')
      .option('--json', 'print the response as JSON'),
  ).action(async (file: string, opts: ConnectionOptions & { format: string; json?: boolean }) => {
    const client = incidentClient(opts);
    try {
      const report = readFileSync(file);
      const res = await client.ingestScanReport(
        create(IngestScanReportRequestSchema, { format: opts.format, report }),
        {
          deadline: Date.now() + 30_000,
        },
      );
      const out = {
        image: res.image,
        critical: res.critical,
        criticalFixable: res.criticalFixable,
        high: res.high,
        affectedWorkloads: res.affectedWorkloads,
      };
      if (opts.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      else
        process.stdout.write(
          `${out.image}: ${out.critical} critical (${out.criticalFixable} fixable), ${out.high} high; ` +
            `running in: ${out.affectedWorkloads.length ? out.affectedWorkloads.join(', ') : 'no known workload'}\n`,
        );
    } catch (error) {
      process.stderr.write(`vigil scan-report: ${(error as Error).message}\n`);
      process.exitCode = 1;
    } finally {
      client.close();
    }
  });
}
