// The RBAC authorizer's rule matching, small enough to read: a request is allowed when one rule names its API
// group, resource (with subresource, e.g. "pods/eviction") and verb, or covers it with "*".
export type PolicyRule = {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
};

const covers = (list: string[] | undefined, item: string): boolean =>
  list !== undefined && (list.includes('*') || list.includes(item));

export function allows(rules: PolicyRule[], verb: string, apiGroup: string, resource: string): boolean {
  return rules.some(
    (rule) =>
      covers(rule.verbs, verb) &&
      covers(rule.apiGroups, apiGroup) &&
      covers(rule.resources, resource) &&
      // A rule limited to named objects does not grant list/watch/create on the whole resource.
      (rule.resourceNames === undefined || rule.resourceNames.length === 0),
  );
}

// Every (group, resource, verb) a set of rules grants, for exact comparisons.
export function grants(rules: PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const rule of rules)
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs) out.add(`${group === '' ? 'core' : group}/${resource}:${verb}`);
  return [...out].sort();
}
