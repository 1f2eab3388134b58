using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentStack.Security.Injection;

namespace AgentStack.Security.SensitiveData;

/// <summary>The kinds of personal data and secrets the detector names (issue 15, item 2).</summary>
public static class SensitiveKinds
{
    public const string Email = "email";
    public const string Phone = "phone";
    public const string PaymentCard = "payment_card";
    public const string Iban = "iban";
    public const string UsSsn = "us_ssn";
    public const string UkNino = "uk_nino";
    public const string EsDni = "es_dni";
    public const string ApiKey = "api_key";
    public const string Jwt = "jwt";
    public const string PrivateKey = "private_key";
    public const string UrlPassword = "url_password";

    /// <summary>Secrets, as opposed to personal data: their findings are severity high.</summary>
    public static bool IsSecret(string kind) => kind is ApiKey or Jwt or PrivateKey or UrlPassword;
}

/// <summary>A range of a text that was replaced by its mask: which kind, where in the masked text.</summary>
public sealed record MaskedRange(string Kind, int Start, int Length);

/// <summary>
/// Finds personal data and secrets in text. Every kind is a pattern plus a check that look-alikes fail:
/// payment cards pass Luhn and carry a known issuer prefix, IBANs pass ISO 7064 mod-97 at their country's
/// length, US SSNs obey the SSA's area/group/serial rules, UK NINOs the HMRC prefix rules, Spanish DNIs
/// their check letter, provider keys their exact shape, JWTs decode to a header with <c>alg</c>.
/// </summary>
public static partial class SensitiveDataDetector
{
    public const string Name = "sensitive-data";
    public const string Version = "1";
    public const string Kind = "sensitive_data";

    public static IReadOnlyList<TextFinding> Find(string text)
    {
        var found = new List<TextFinding>();
        if (string.IsNullOrEmpty(text))
            return found;
        // The patterns that start with a class rather than a literal try every position of the text; those that
        // cannot match without a character the text lacks are skipped: the same findings, without a scan of
        // ordinary prose that was a visible share of the detections projection's profile.
        var hasAt = text.Contains('@', StringComparison.Ordinal);
        Add(found, text, PemPrivateKey(), SensitiveKinds.PrivateKey, "a PEM private key", _ => true);
        if (hasAt && text.Contains("://", StringComparison.Ordinal))
            Add(found, text, UrlWithPassword(), SensitiveKinds.UrlPassword, "a password inside a URL", m => !IsPlaceholder(m.Groups["pw"].Value));
        Add(found, text, Jwt(), SensitiveKinds.Jwt, "a JSON Web Token (signed header and claims)", m => IsJwt(m.Value));
        foreach (var (pattern, provider) in ProviderKeys)
            Add(found, text, pattern, SensitiveKinds.ApiKey, $"an API key or token of {provider}", m => HasDigitsAndLetters(m.Value));
        if (hasAt)
            Add(found, text, Email(), SensitiveKinds.Email, "an e-mail address", m => IsEmail(m.Value));
        Add(found, text, CardCandidate(), SensitiveKinds.PaymentCard, "a payment card number (passes the Luhn check)", m => IsCard(m.Value));
        Add(found, text, IbanCandidate(), SensitiveKinds.Iban, "an IBAN (passes the mod-97 check)", m => IsIban(m.Value));
        Add(found, text, Ssn(), SensitiveKinds.UsSsn, "a US social security number", m => IsSsn(m));
        Add(found, text, Nino(), SensitiveKinds.UkNino, "a UK national insurance number", m => IsNino(m.Value));
        Add(found, text, Dni(), SensitiveKinds.EsDni, "a Spanish DNI (check letter matches)", m => IsDni(m.Value));
        Add(found, text, Phone(), SensitiveKinds.Phone, "a phone number", m => IsPhone(m.Value));
        return found;
    }

    /// <summary>The text with every finding replaced by <c>[kind]</c>, and where each mask now sits.</summary>
    public static (string Masked, IReadOnlyList<MaskedRange> Ranges) Mask(string text)
    {
        var findings = Find(text);
        if (findings.Count == 0)
            return (text, []);
        var sb = new StringBuilder(text.Length);
        var ranges = new List<MaskedRange>();
        var at = 0;
        foreach (var f in findings.OrderBy(f => f.Start))
        {
            if (f.Start < at)
                continue;
            sb.Append(text, at, f.Start - at);
            var mask = $"[{f.Rule}]";
            ranges.Add(new MaskedRange(f.Rule, sb.Length, mask.Length));
            sb.Append(mask);
            at = f.Start + f.Length;
        }
        sb.Append(text, at, text.Length - at);
        return (sb.ToString(), ranges);
    }

    private static void Add(List<TextFinding> found, string text, Regex pattern, string kind, string reason, Func<Match, bool> valid)
    {
        foreach (Match m in pattern.Matches(text))
        {
            // A range already claimed by an earlier (more specific) kind is not found twice.
            if (found.Any(f => m.Index < f.Start + f.Length && f.Start < m.Index + m.Length))
                continue;
            if (valid(m))
                found.Add(new TextFinding(Kind, SensitiveKinds.IsSecret(kind) ? 0.95 : 0.9, $"contains {reason}", m.Index, m.Length, kind));
        }
    }

    private static bool HasDigitsAndLetters(string s) => s.Any(char.IsAsciiDigit) && s.Count(char.IsAsciiLetter) >= 4;

    private static bool IsPlaceholder(string pw) =>
        pw.Length == 0 || pw.Trim('*', 'x', 'X', '.') .Length == 0 || pw.StartsWith('<') || pw.StartsWith("${", StringComparison.Ordinal)
        || pw.StartsWith("{{", StringComparison.Ordinal) || pw.StartsWith('%') || pw.Equals("password", StringComparison.OrdinalIgnoreCase);

    private static bool IsEmail(string s)
    {
        var at = s.IndexOf('@', StringComparison.Ordinal);
        var local = s[..at];
        var domain = s[(at + 1)..];
        return !local.StartsWith('.') && !local.EndsWith('.') && !s.Contains("..", StringComparison.Ordinal)
            && domain.Split('.').All(l => l.Length > 0 && !l.StartsWith('-') && !l.EndsWith('-'))
            && !domain.Split('.')[^1].Any(char.IsAsciiDigit);
    }

    public static bool Luhn(ReadOnlySpan<char> digits)
    {
        var sum = 0;
        var even = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (even && (d *= 2) > 9)
                d -= 9;
            sum += d;
            even = !even;
        }
        return sum % 10 == 0;
    }

    private static bool IsCard(string s)
    {
        var digits = new string(s.Where(char.IsAsciiDigit).ToArray());
        if (digits.Length is < 13 or > 19 || digits.Distinct().Count() < 2 || !Luhn(digits))
            return false;
        // Issuer prefixes of the major networks: Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37,
        // Discover 6011/65/644-649, JCB 3528-3589, Diners 36/38/300-305, UnionPay 62, Maestro 50/56-69.
        var two = int.Parse(digits[..2], System.Globalization.CultureInfo.InvariantCulture);
        var four = int.Parse(digits[..4], System.Globalization.CultureInfo.InvariantCulture);
        return digits[0] == '4' || two is >= 51 and <= 55 || four is >= 2221 and <= 2720 || two is 34 or 37 or 36 or 38 or 62 or 65
            || four == 6011 || four is >= 3528 and <= 3589 || four is >= 3000 and <= 3059 || two is 50 or >= 56 and <= 69;
    }

    private static readonly Dictionary<string, int> IbanLengths = new()
    {
        ["AD"] = 24, ["AT"] = 20, ["BE"] = 16, ["BG"] = 22, ["CH"] = 21, ["CY"] = 28, ["CZ"] = 24, ["DE"] = 22, ["DK"] = 18,
        ["EE"] = 20, ["ES"] = 24, ["FI"] = 18, ["FR"] = 27, ["GB"] = 22, ["GR"] = 27, ["HR"] = 21, ["HU"] = 28, ["IE"] = 22,
        ["IS"] = 26, ["IT"] = 27, ["LI"] = 21, ["LT"] = 20, ["LU"] = 20, ["LV"] = 21, ["MC"] = 27, ["MT"] = 31, ["NL"] = 18,
        ["NO"] = 15, ["PL"] = 28, ["PT"] = 25, ["RO"] = 24, ["SE"] = 24, ["SI"] = 19, ["SK"] = 24, ["SM"] = 27, ["TR"] = 26,
        ["AE"] = 23, ["SA"] = 24, ["IL"] = 23, ["BR"] = 29, ["UA"] = 29,
    };

    public static bool IsIban(string s)
    {
        var iban = new string(s.Where(c => c != ' ').ToArray()).ToUpperInvariant();
        if (!IbanLengths.TryGetValue(iban[..2], out var length) || iban.Length != length)
            return false;
        var rearranged = iban[4..] + iban[..4];
        var remainder = 0;
        foreach (var c in rearranged)
        {
            if (char.IsAsciiDigit(c))
                remainder = (remainder * 10 + (c - '0')) % 97;
            else if (char.IsAsciiLetterUpper(c))
                remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
            else
                return false;
        }
        return remainder == 1;
    }

    /// <summary>SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000; not the advertised 078-05-1120.</summary>
    private static bool IsSsn(Match m)
    {
        var area = int.Parse(m.Groups["a"].Value, System.Globalization.CultureInfo.InvariantCulture);
        return area is not (0 or 666) && area < 900 && m.Groups["g"].Value != "00" && m.Groups["s"].Value != "0000"
            && m.Value != "078-05-1120" && m.Value != "219-09-9999";
    }

    /// <summary>HMRC: first letter not D, F, I, Q, U, V; second not D, F, I, O, Q, U, V; not BG, GB, KN, NK, NT, TN, ZZ.</summary>
    private static bool IsNino(string s)
    {
        var n = s.Replace(" ", "", StringComparison.Ordinal);
        var prefix = n[..2];
        return !"DFIQUV".Contains(n[0], StringComparison.Ordinal) && !"DFIOQUV".Contains(n[1], StringComparison.Ordinal)
            && prefix is not ("BG" or "GB" or "KN" or "NK" or "NT" or "TN" or "ZZ");
    }

    private static bool IsDni(string s)
    {
        var number = int.Parse(s[..8], System.Globalization.CultureInfo.InvariantCulture);
        return "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23] == char.ToUpperInvariant(s[8]);
    }

    private static bool IsPhone(string s)
    {
        var digits = s.Count(char.IsAsciiDigit);
        if (s.StartsWith('+'))
            return digits is >= 8 and <= 15;
        // National numbers need the North American shape (the pattern asks for separators), not a date.
        return digits == 10 || (digits == 11 && s.TrimStart('(')[0] == '1');
    }

    private static bool IsJwt(string token)
    {
        var header = token[..token.IndexOf('.', StringComparison.Ordinal)];
        try
        {
            var padded = header.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            using var doc = JsonDocument.Parse(Convert.FromBase64String(padded));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("alg", out _);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return false;
        }
    }

    private static readonly (Regex Pattern, string Provider)[] ProviderKeys =
    [
        (OpenAiKey(), "OpenAI"), (AwsKey(), "AWS (access key id)"), (GitHubToken(), "GitHub"), (SlackToken(), "Slack"),
        (StripeKey(), "Stripe"), (GoogleKey(), "Google"), (AnthropicKey(), "Anthropic"),
    ];

    [GeneratedRegex(@"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")]
    private static partial Regex PemPrivateKey();

    [GeneratedRegex(@"\b[a-z][a-z0-9+.-]{1,15}://[^\s:/@""'<>]{1,64}:(?<pw>[^\s@/""'<>]{1,128})@[a-z0-9.-]+", RegexOptions.IgnoreCase)]
    private static partial Regex UrlWithPassword();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")]
    private static partial Regex Jwt();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])")]
    private static partial Regex OpenAiKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])sk-ant-[a-z0-9]{2,8}-[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])")]
    private static partial Regex AnthropicKey();

    [GeneratedRegex(@"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])")]
    private static partial Regex AwsKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])")]
    private static partial Regex GitHubToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9-])xox[abposr]-[0-9]{8,13}-[0-9]{8,13}(?:-[0-9]{8,13})?-[A-Za-z0-9]{24,34}(?![A-Za-z0-9-])")]
    private static partial Regex SlackToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,99}(?![A-Za-z0-9_])")]
    private static partial Regex StripeKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")]
    private static partial Regex GoogleKey();

    [GeneratedRegex(@"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![\w-])")]
    private static partial Regex Email();

    [GeneratedRegex(@"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")]
    private static partial Regex CardCandidate();

    [GeneratedRegex(@"(?<![A-Z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Z0-9])")]
    private static partial Regex IbanCandidate();

    // [0-9], not \d (the digits of every script): the checks read ASCII digits, and int.Parse throws on any other.
    [GeneratedRegex(@"(?<![0-9-])(?<a>[0-9]{3})-(?<g>[0-9]{2})-(?<s>[0-9]{4})(?![0-9-])")]
    private static partial Regex Ssn();

    [GeneratedRegex(@"(?<![A-Z0-9])[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D](?![A-Za-z0-9])")]
    private static partial Regex Nino();

    [GeneratedRegex(@"(?<![A-Za-z0-9])[0-9]{8}[A-Za-z](?![A-Za-z0-9])")]
    private static partial Regex Dni();

    [GeneratedRegex(@"(?<![\w+])(?:\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}|\+[1-9]\d{7,14}|(?:1[ .-])?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?![\w-])")]
    private static partial Regex Phone();
}
