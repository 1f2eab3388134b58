using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentStack.Security.Training;

/// <summary>
/// Group-aware folds for out-of-fold scores. train.jsonl keeps near-duplicates within itself (SOURCE.md: DAN
/// variants, deepset's augmented copies of one attack), and folds by hash of the text put copies of one
/// template on both sides of a fold, so out-of-fold recall overstated recall on unseen text (0.919 against
/// 0.845 on test). Here rows that share enough word shingles of their normalised words (<see cref="Default"/>:
/// 3-grams, Jaccard 0.3 or containment 0.5, chosen on train, docs/security-engine.md) are joined into one group
/// (union-find), and whole groups are dealt to folds, largest first, each to the smallest fold: a template is then
/// either all seen or all unseen by the model that scores it. Translations of one text share no shingles and are
/// not joined.
/// </summary>
public static partial class NearDuplicates
{
    /// <summary>
    /// When two rows are near-duplicates: they share word <see cref="Shingle"/>-grams with Jaccard similarity at
    /// least <see cref="Jaccard"/>, or at least <see cref="Containment"/> of the smaller row's shingles are in the
    /// other (a copy with a question or a sentence added).
    /// </summary>
    public sealed record Rule(int Shingle, double Jaccard, double Containment)
    {
        public static Rule Parse(string text) => text.Split(',') is [var n, var j, var c]
            ? new(int.Parse(n, CultureInfo.InvariantCulture), double.Parse(j, CultureInfo.InvariantCulture), double.Parse(c, CultureInfo.InvariantCulture))
            : throw new FormatException($"grouping '{text}': expected shingle,jaccard,containment");
    }

    /// <summary>Word 3-grams, Jaccard ≥ 0.3 or containment ≥ 0.5 (a stricter 5-gram 0.5 / 0.8 left 3-gram variants of one template across folds).</summary>
    public static Rule Default { get; } = new(3, 0.3, 0.5);

    /// <summary>The group of each text: the index of its group's first row.</summary>
    public static int[] Groups(IReadOnlyList<string> texts, Rule? rule = null)
    {
        rule ??= Default;
        var shingles = texts.Select(t => Shingles(t, rule.Shingle)).ToArray();
        var parent = Enumerable.Range(0, texts.Count).ToArray();
        int Find(int i)
        {
            while (parent[i] != i)
                i = parent[i] = parent[parent[i]];
            return i;
        }
        var index = new Dictionary<string, List<int>>();
        for (var i = 0; i < shingles.Length; i++)
            foreach (var s in shingles[i])
                (index.TryGetValue(s, out var list) ? list : index[s] = []).Add(i);
        for (var i = 0; i < shingles.Length; i++)
        {
            if (shingles[i].Count == 0)
                continue;
            var shared = new Dictionary<int, int>();
            foreach (var s in shingles[i])
                foreach (var j in index[s])
                    if (j > i)
                        shared[j] = shared.GetValueOrDefault(j) + 1;
            foreach (var (j, n) in shared)
            {
                var a = shingles[i].Count;
                var b = shingles[j].Count;
                if (n / (double)(a + b - n) >= rule.Jaccard || n / (double)Math.Min(a, b) >= rule.Containment)
                    parent[Find(j)] = Find(i);
            }
        }
        var first = new Dictionary<int, int>();
        var groups = new int[texts.Count];
        for (var i = 0; i < texts.Count; i++)
            groups[i] = first.TryGetValue(Find(i), out var g) ? g : first[Find(i)] = i;
        return groups;
    }

    /// <summary>
    /// The fold of each row: whole groups dealt to <paramref name="folds"/> folds, largest group first, each to
    /// the fold with the fewest rows of its majority label so far (ties: the lowest fold), so folds stay balanced in
    /// size and in attacks; only rows <paramref name="counted"/> selects count (train.jsonl, not extra rows
    /// grouped with it). Deterministic for a given input.
    /// </summary>
    public static int[] Folds(IReadOnlyList<string> texts, IReadOnlyList<bool> labels, int folds, Func<int, bool>? counted = null, Rule? rule = null)
    {
        counted ??= _ => true;
        var groups = Groups(texts, rule);
        var members = Enumerable.Range(0, texts.Count).GroupBy(i => groups[i])
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key).ToList();
        var attacks = new int[folds];
        var benign = new int[folds];
        var fold = new int[texts.Count];
        foreach (var group in members)
        {
            var a = group.Count(i => counted(i) && labels[i]);
            var b = group.Count(i => counted(i) && !labels[i]);
            var k = Enumerable.Range(0, folds).MinBy(f => a >= b ? (attacks[f], benign[f]) : (benign[f], attacks[f]));
            attacks[k] += a;
            benign[k] += b;
            foreach (var i in group)
                fold[i] = k;
        }
        return fold;
    }

    /// <summary>Word n-grams of the lower-cased letters and digits (the whole word sequence when shorter).</summary>
    public static HashSet<string> Shingles(string normalizedText, int shingle)
    {
        var words = Word().Matches(normalizedText).Select(m => m.Value).ToArray();
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (words.Length == 0)
            return set;
        if (words.Length < shingle)
        {
            set.Add(string.Join(' ', words));
            return set;
        }
        var sb = new StringBuilder();
        for (var i = 0; i + shingle <= words.Length; i++)
        {
            sb.Clear();
            for (var j = i; j < i + shingle; j++)
                sb.Append(words[j]).Append(' ');
            set.Add(sb.ToString());
        }
        return set;
    }

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex Word();
}
