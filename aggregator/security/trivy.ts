// Trivy JSON reports (aquasecurity/trivy `pkg/types/report.go`): validated with zod, then summarised per
// image into what the aggregator acts on: counts by severity and the critical CVEs that have a fix. Only the
// fields we use are checked; everything else Trivy writes passes through untouched.
import { z } from 'zod';

/** A report that cannot be used; the API maps it to INVALID_ARGUMENT. */
export class InvalidReportError extends Error {
  readonly code = 'INVALID_ARGUMENT';
}

const VulnerabilitySchema = z.looseObject({
  VulnerabilityID: z.string().min(1),
  PkgName: z.string(),
  InstalledVersion: z.string().default(''),
  FixedVersion: z.string().optional(),
  Severity: z.enum(['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']),
  Title: z.string().optional(),
});

const ReportSchema = z.looseObject({
  ArtifactName: z.string().min(1),
  ArtifactType: z.string().optional(),
  Metadata: z
    .looseObject({
      ImageID: z.string().optional(),
      RepoDigests: z.array(z.string()).optional(),
      RepoTags: z.array(z.string()).optional(),
    })
    .optional(),
  Results: z
    .array(
      z.looseObject({
        Target: z.string(),
        Vulnerabilities: z.array(VulnerabilitySchema).nullish(),
      }),
    )
    .nullish(),
});

export type TrivySeverity = z.infer<typeof VulnerabilitySchema>['Severity'];

export interface FixableCve {
  id: string;
  package: string;
  installed: string;
  fixed: string;
  title: string;
}

export interface ImageVulnerabilities {
  /** As scanned, e.g. `shop/api:3.2.1`. */
  image: string;
  /** `sha256:…` digests the image is known by (RepoDigests and ImageID). */
  digests: string[];
  /** Tags the image is known by (ArtifactName and RepoTags). */
  tags: string[];
  counts: Record<TrivySeverity, number>;
  /** Critical CVEs that have a fixed version, one per CVE id + package, sorted by id. */
  criticalFixable: FixableCve[];
}

/** Where zod found the problem, as a JSON path a user can find in the report: `Results[0].Vulnerabilities[3].Severity`. */
function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(report)';
}

/** Parses and validates a Trivy JSON report; throws `InvalidReportError` naming the bad field. */
export function parseTrivyReport(input: string | Uint8Array): ImageVulnerabilities {
  const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidReportError(`trivy report is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = ReportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? pathOf(issue.path) : '(report)';
    throw new InvalidReportError(`trivy report field ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const report = parsed.data;
  const counts: Record<TrivySeverity, number> = { UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 };
  const fixable = new Map<string, FixableCve>();
  // Trivy lists a CVE once per result (OS packages, each lockfile); count each id+package once.
  const seen = new Set<string>();
  for (const result of report.Results ?? []) {
    for (const v of result.Vulnerabilities ?? []) {
      const key = `${v.VulnerabilityID}|${v.PkgName}|${v.InstalledVersion}`;
      if (seen.has(key)) continue;
      seen.add(key);
      counts[v.Severity] += 1;
      if (v.Severity === 'CRITICAL' && v.FixedVersion) {
        fixable.set(key, {
          id: v.VulnerabilityID,
          package: v.PkgName,
          installed: v.InstalledVersion,
          fixed: v.FixedVersion,
          title: v.Title ?? '',
        });
      }
    }
  }
  const meta = report.Metadata ?? {};
  const digests = new Set<string>();
  for (const d of meta.RepoDigests ?? []) {
    const at = d.indexOf('@');
    if (at >= 0) digests.add(d.slice(at + 1));
  }
  if (meta.ImageID?.startsWith('sha256:')) digests.add(meta.ImageID);
  return {
    image: report.ArtifactName,
    digests: [...digests],
    tags: [...new Set([report.ArtifactName, ...(meta.RepoTags ?? [])])],
    counts,
    criticalFixable: [...fixable.values()].sort((a, b) => a.id.localeCompare(b.id)),
  };
}
