// Grouping Accuracy (Zhu et al., ICSE-SEIP 2019): the share of lines whose predicted group holds exactly the
// same set of lines as their ground-truth group.

export function groupingAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length !== truth.length) throw new Error('predicted and truth differ in length');
  const predGroups = groupIndexes(predicted);
  const truthGroups = groupIndexes(truth);
  let correct = 0;
  for (const lines of predGroups.values()) {
    const first = lines[0]!;
    const truthLines = truthGroups.get(truth[first]!)!;
    if (truthLines.length !== lines.length) continue;
    if (lines.every((l) => truth[l] === truth[first])) correct += lines.length;
  }
  return predicted.length === 0 ? 1 : correct / predicted.length;
}

function groupIndexes(labels: readonly string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  labels.forEach((label, i) => {
    const g = groups.get(label);
    if (g) g.push(i);
    else groups.set(label, [i]);
  });
  return groups;
}
