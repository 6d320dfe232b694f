using System.Text;

namespace AccessWorkflows.Slack.Blocks;

/// <summary>
/// Escaping of text for Slack's mrkdwn. Slack's control sequences all start with <c>&lt;</c> (<c>&lt;!channel&gt;</c>,
/// <c>&lt;@U123&gt;</c>, <c>&lt;http://x|label&gt;</c>), so escaping <c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c> leaves a user
/// no way to mention, ping or forge a link; plain <c>@channel</c> is only parsed with <c>link_names</c>, which this
/// product never sets. Every piece of request data goes through <see cref="Escape"/>.
/// </summary>
public static class Mrkdwn
{
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            switch (c)
            {
                case '&':
                    sb.Append("&amp;");
                    break;
                case '<':
                    sb.Append("&lt;");
                    break;
                case '>':
                    sb.Append("&gt;");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>Escaped and cut to <paramref name="max"/> characters (Slack limits section text to 3000).</summary>
    public static string EscapeTruncated(string? text, int max)
    {
        var escaped = Escape(text);
        return escaped.Length <= max ? escaped : escaped[..(max - 1)] + "…";
    }
}
