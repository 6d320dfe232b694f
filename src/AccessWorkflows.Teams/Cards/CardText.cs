using System.Text;

namespace AccessWorkflows.Teams.Cards;

/// <summary>
/// User text on cards (SPEC 12). Free text (reasons, comments, problems) goes into <c>TextRun</c>s, which render no
/// markdown; short fields that go into markdown-capable places (TextBlock, FactSet values) pass through
/// <see cref="Markdown"/>, so a reason or a name can never forge a link, a heading or emphasis.
/// </summary>
public static class CardText
{
    private const string MarkdownSpecials = "\\*_[]()#~`";

    /// <summary>Escapes text for Adaptive Card markdown: backslash before <c>\*_[]()#~`</c>, HTML entities for
    /// <c>&lt; &gt; &amp;</c>, control characters (line breaks included) flattened to spaces.</summary>
    public static string Markdown(string? text, int maxLength = 300)
    {
        var plain = Plain(text, maxLength);
        var sb = new StringBuilder(plain.Length + 16);
        foreach (var c in plain)
        {
            switch (c)
            {
                case '<':
                    sb.Append("&lt;");
                    break;
                case '>':
                    sb.Append("&gt;");
                    break;
                case '&':
                    sb.Append("&amp;");
                    break;
                default:
                    if (MarkdownSpecials.Contains(c))
                    {
                        sb.Append('\\');
                    }

                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>For TextRuns and input values: no control characters but line breaks, bounded length.</summary>
    public static string Plain(string? text, int maxLength = 1000, bool keepLineBreaks = false)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var sb = new StringBuilder(Math.Min(text.Length, maxLength));
        foreach (var c in text)
        {
            if (sb.Length >= maxLength)
            {
                sb.Append('…');
                break;
            }

            sb.Append(c == '\n' && keepLineBreaks ? '\n' : char.IsControl(c) || c is '\u2028' or '\u2029' ? ' ' : c);
        }

        return sb.ToString();
    }
}
