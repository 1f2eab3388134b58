using System.Text;
using AgentStack.Security.SensitiveData;

namespace AgentStack.Security.Tests.SensitiveData;

public sealed class when_text_holds_personal_data_or_secrets
{
    private static string B64(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static readonly string JwtToken = $"{B64("""{"alg":"HS256","typ":"JWT"}""")}.{B64("""{"sub":"1234567890","name":"Ann"}""")}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    private static readonly string NotJwt = $"{B64("""{"foo":"bar","baz":1}""")}.{B64("""{"sub":"1234567890","name":"Ann"}""")}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    public static TheoryData<string, string, string> Kinds => new()
    {
        // kind, a real one, a look-alike that must not match
        { SensitiveKinds.Email, "write to alice.smith@example.org today", "write to alice@localhost or a.@b.com or user@host.c0m today" },
        { SensitiveKinds.Phone, "call +44 20 7946 0958 or (415) 555-2671", "released 2024-01-15 as version 10.0.15 build 1.2.3.4" },
        { SensitiveKinds.PaymentCard, "card 4111 1111 1111 1111 exp 12/29", "order 4111 1111 1111 1112 and 1234567812345670" },
        { SensitiveKinds.Iban, "pay to GB82 WEST 1234 5698 7654 32 now", "pay to GB82 WEST 1234 5698 7654 33 or XX82WEST12345698765432" },
        { SensitiveKinds.Iban, "IBAN DE89370400440532013000", "IBAN DE89370400440532013001" },
        { SensitiveKinds.UsSsn, "SSN 123-45-6789", "ids 000-12-3456, 666-12-3456, 912-34-5678, 123-00-4567" },
        { SensitiveKinds.UkNino, "NINO AB 12 34 56 C", "codes QQ 12 34 56 C, BG123456A, AB123456E" },
        { SensitiveKinds.EsDni, "DNI 12345678Z", "ref 12345678A" },
        { SensitiveKinds.ApiKey, "OPENAI_API_KEY=sk-proj-4fG7hK2mN9pQ1rS5tV8wX3yZ6aB0cD4eF7gH", "pip install sk-learn; sk-short1; sk-" + new string('x', 40) },
        { SensitiveKinds.ApiKey, "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAiosfodnn7example or AKIA1234 or XAKIAIOSFODNN7EXAMPLEX" },
        { SensitiveKinds.ApiKey, "token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "token ghp_a1B2c3D4e5F6 and ghx_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" },
        { SensitiveKinds.ApiKey, "SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-test and xoxb-12-34-abc" },
        { SensitiveKinds.ApiKey, "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_short and sk_prod_4eC39HqLyjWDarjtT1zdp7dc" },
        { SensitiveKinds.ApiKey, "key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "AIzaShort and AIzaSyD-9tSrke72PouQMnMX" },
        { SensitiveKinds.Jwt, "Authorization: Bearer " + JwtToken, "Bearer " + NotJwt },
        { SensitiveKinds.PrivateKey, "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----" },
        { SensitiveKinds.UrlPassword, "DATABASE_URL=postgres://app:s3cr3t-Pw@db.example.com:5432/prod", "postgres://app:${DB_PASSWORD}@db, https://user@example.com/x, http://a:***@h" },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void then_each_kind_is_found_and_its_look_alikes_are_not(string kind, string real, string lookAlike)
    {
        var found = SensitiveDataDetector.Find(real);
        found.ShouldContain(f => f.Rule == kind, $"{kind} in: {real}");
        var f = found.First(f => f.Rule == kind);
        f.Start.ShouldBeGreaterThanOrEqualTo(0);
        (f.Start + f.Length).ShouldBeLessThanOrEqualTo(real.Length);
        f.Reason.ShouldNotBeNullOrWhiteSpace();

        SensitiveDataDetector.Find(lookAlike).Where(f => f.Rule == kind).ShouldBeEmpty($"look-alikes of {kind}: {lookAlike}");
    }

    [Theory]
    [InlineData("SSN \u0661\u0662\u0663-\u0664\u0665-\u0666\u0667\u0668\u0669")] // Arabic-Indic digits
    [InlineData("DNI \uFF11\uFF12\uFF13\uFF14\uFF15\uFF16\uFF17\uFF18Z")] // fullwidth digits
    [InlineData("NINO AB \u0661\u0662 \u0663\u0664 \u0665\u0666 C")]
    public void then_digits_of_other_scripts_are_neither_a_failure_nor_a_national_id(string text)
    {
        // Only ASCII digits count, as for cards, IBANs and phones; the SSN and DNI checks threw on these (a 500 from the guard).
        SensitiveDataDetector.Find(text).ShouldBeEmpty();
        SensitiveDataDetector.Mask(text).Masked.ShouldBe(text);
    }

    [Fact]
    public void then_masking_replaces_each_finding_and_records_its_kind_and_place()
    {
        var (masked, ranges) = SensitiveDataDetector.Mask("mail bob@example.com, card 4111-1111-1111-1111.");
        masked.ShouldBe("mail [email], card [payment_card].");
        ranges.Select(r => (r.Kind, masked.Substring(r.Start, r.Length)))
            .ShouldBe([(SensitiveKinds.Email, "[email]"), (SensitiveKinds.PaymentCard, "[payment_card]")]);
    }

    [Fact]
    public void then_plain_text_is_left_alone()
    {
        SensitiveDataDetector.Find("The meeting moved to 3pm on 2026-12-03; budget 1,250,000 EUR, ticket #48213.").ShouldBeEmpty();
    }
}
