using System.Collections.Frozen;
using System.Text;

namespace AgentStack.Security.Injection;

/// <summary>
/// A translation-insensitive view of the words an injection is made of: "ignoriere", "ignora" and "ignorez"
/// are all <c>xignorex</c>, "Anweisungen", "instrucciones" and "consignes" all <c>xordersx</c>. The classifier
/// reads the normalised text followed by these concept tokens in text order, so a hijack learnt from English
/// or German rows also weighs when the same words come in another language (word 1-2-grams over the tokens:
/// "xignorex xpreviousx", "xnowx xwritex"). Lower-case input (<see cref="TextNormalizer"/> output).
/// </summary>
public static class HijackLexicon
{
    /// <summary>The classifier input of models trained with the lexicon (<see cref="ClassifierSettings.Features"/>).</summary>
    public const string Features = "text+lexicon";

    private static readonly FrozenDictionary<string, string> Concepts = Build(new Dictionary<string, string[]>
    {
        ["ignore"] = ["ignore", "ignoring", "disregard", "ignoriere", "ignorieren", "ignorier", "ignoriert", "missachte", "ignora", "ignorar", "ignorez", "ignorer", "ignorate", "negeer", "игнорируй", "игнорируйте", "проигнорируй", "忽略", "忽视", "无视"],
        ["forget"] = ["forget", "vergiss", "vergessen", "olvida", "olvide", "olvidar", "olvídate", "oublie", "oubliez", "oublier", "dimentica", "dimenticate", "esqueça", "esqueca", "vergeet", "zaboravi", "забудь", "забудьте", "忘记", "忘掉"],
        ["orders"] = ["instructions", "instruction", "prompt", "prompts", "rules", "guidelines", "directives", "commands", "anweisungen", "anweisung", "instruktionen", "befehle", "regeln", "vorgaben", "instrucciones", "reglas", "indicaciones", "órdenes", "consignes", "règles", "istruzioni", "regole", "instruções", "instrucoes", "regras", "instructies", "regels", "upute", "instrukcije", "инструкции", "указания", "правила", "指令", "指示", "规则"],
        ["previous"] = ["previous", "prior", "above", "earlier", "preceding", "vorherigen", "vorherige", "obigen", "obige", "bisherigen", "vorangegangenen", "vorangehenden", "vorigen", "früheren", "anteriores", "anterior", "précédentes", "précédent", "précédente", "precedenti", "precedente", "vorige", "eerdere", "предыдущие", "之前", "以上", "上面"],
        ["everything"] = ["everything", "alles", "todo", "tout", "tutto", "tudo", "всё", "все", "一切"],
        ["task"] = ["task", "tasks", "assignment", "aufgabe", "aufgaben", "tarea", "tareas", "tâche", "tâches", "compito", "tarefa", "opdracht", "задача", "任务"],
        ["new"] = ["new", "neue", "neuen", "neuer", "nueva", "nuevo", "nuevas", "nouvelle", "nouveau", "nouvelles", "nuovo", "nuova", "nova", "novo", "nieuwe", "новая", "新"],
        ["now"] = ["now", "jetzt", "nun", "ahora", "maintenant", "ora", "agora", "nu", "теперь", "сейчас", "现在"],
        ["instead"] = ["instead", "stattdessen", "sondern", "sino", "plutôt", "invece", "vez"],
        ["write"] = ["write", "say", "output", "print", "type", "schreibe", "schreib", "sag", "sage", "gib", "verfasse", "formuliere", "escribe", "di", "escriba", "écris", "écrivez", "dis", "dites", "scrivi", "dì", "escreva", "diga", "schrijf", "напиши", "скажи", "写", "说"],
        ["youare"] = ["bist", "eres", "sei", "você", "ты", "你是"],
        ["pretend"] = ["pretend", "imagine", "roleplay", "stell", "imagina", "finge", "imaginez", "immagina", "fingi", "представь"],
        ["evil"] = ["evil", "malicious", "amoral", "unethical", "unrestricted", "uncensored", "unfiltered", "böse", "bösartige", "ungefilterte", "malvada", "malvado", "maléfique", "malvagia", "злой"],
        ["secret"] = ["password", "passwords", "secret", "secrets", "key", "keys", "credentials", "passwort", "passwörter", "geheimnis", "zugangsdaten", "contraseña", "secreto", "segreto", "senha", "пароль", "密码"],
        ["reveal"] = ["reveal", "show", "disclose", "leak", "zeige", "zeig", "verrate", "nenne", "revela", "muestra", "révèle", "montre", "rivela", "mostra", "покажи", "раскрой", "显示", "告诉"],
        ["stop"] = ["stop", "stopp", "halt", "achtung", "attention", "alto", "basta", "arrête"],
        ["done"] = ["done", "enough", "erledigt", "genug", "genügt", "reicht", "fertig", "hecho", "suficiente", "fait", "assez", "fatto"],
        ["praise"] = ["excellent", "great", "congratulations", "bravo", "wow", "gut", "großartig", "ausgezeichnet", "glückwunsch", "hervorragend", "excelente", "genial", "félicitations", "parfait", "ottimo", "perfekt", "perfect"],
    });

    private static FrozenDictionary<string, string> Build(Dictionary<string, string[]> concepts)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (concept, words) in concepts)
            foreach (var word in words)
                map.TryAdd(word, $"x{concept}x");
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The text followed by a line of concept tokens, one per lexicon word, in text order.</summary>
    public static string Annotate(string normalizedText)
    {
        StringBuilder? tokens = null;
        var span = normalizedText.AsSpan();
        var lookup = Concepts.GetAlternateLookup<ReadOnlySpan<char>>();
        var i = 0;
        while (i < span.Length)
        {
            if (!char.IsLetter(span[i]))
            {
                i++;
                continue;
            }
            var start = i;
            // CJK has no spaces: read it a character pair at a time against the lexicon.
            if (span[i] >= '\u3040' && span[i] <= '\u9fff')
            {
                var length = i + 2 <= span.Length ? 2 : 1;
                if (lookup.TryGetValue(span.Slice(i, length), out var cjk) || lookup.TryGetValue(span.Slice(i, 1), out cjk))
                    (tokens ??= new StringBuilder()).Append(' ').Append(cjk);
                i++;
                continue;
            }
            while (i < span.Length && (char.IsLetter(span[i]) || span[i] == '\''))
                i++;
            if (lookup.TryGetValue(span[start..i], out var concept))
                (tokens ??= new StringBuilder()).Append(' ').Append(concept);
        }
        return tokens is null ? normalizedText : $"{normalizedText}\n{tokens}";
    }
}
