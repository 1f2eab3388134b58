using System.Collections.Concurrent;

namespace AgentStack.Security.Injection;

/// <summary>
/// Recent verdicts by (role, text), bounded by the characters of the texts it holds: two generations, the
/// current one filling and the one before it still read; when the current one is full it becomes the one
/// before and a new one starts (a cheap approximation of least-recently-used). A hit in the older generation
/// moves into the current one. Thread-safe; a text longer than a tenth of the budget is never cached.
/// </summary>
internal sealed class VerdictCache(int maxCharacters)
{
    private readonly Lock _swap = new();
    private Generation _current = new();
    private Generation _previous = new();

    public InjectionVerdict? TryGet(string role, string text)
    {
        var key = (role, text);
        var current = _current;
        if (current.Verdicts.TryGetValue(key, out var verdict))
            return verdict;
        if (!_previous.Verdicts.TryGetValue(key, out verdict))
            return null;
        Add(role, text, verdict);
        return verdict;
    }

    public void Add(string role, string text, InjectionVerdict verdict)
    {
        if (text.Length > maxCharacters / 10)
            return;
        var current = _current;
        if (!current.Verdicts.TryAdd((role, text), verdict))
            return;
        if (Interlocked.Add(ref current.Characters, text.Length) < maxCharacters / 2)
            return;
        lock (_swap)
        {
            if (!ReferenceEquals(current, _current))
                return;
            _previous = current;
            _current = new Generation();
        }
    }

    private sealed class Generation
    {
        public readonly ConcurrentDictionary<(string Role, string Text), InjectionVerdict> Verdicts = new();
        public long Characters;
    }
}
