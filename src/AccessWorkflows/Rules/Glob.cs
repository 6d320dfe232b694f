namespace AccessWorkflows.Rules;

/// <summary>
/// Glob matching for the rules file: <c>*</c> matches any run of characters (including none), <c>?</c> exactly one;
/// every other character matches itself. There is no escaping and no character classes.
/// </summary>
/// <remarks>
/// Linear in the pattern per text position (worst case O(pattern × text), no backtracking explosion): patterns come
/// from the rules file and texts from requests, and neither may be able to stall the server. ARNs and group names
/// are compared case-sensitively (<c>ignoreCase</c> false); emails case-insensitively.
/// </remarks>
public static class Glob
{
    public static bool IsMatch(string pattern, string text, bool ignoreCase = false)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(text);
        int p = 0, t = 0;
        int star = -1, starText = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                // Remember the star and first try matching it against nothing.
                star = p++;
                starText = t;
            }
            else if (p < pattern.Length && (pattern[p] == '?' || Same(pattern[p], text[t], ignoreCase)))
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                // Mismatch after a star: let the star swallow one more character and retry. Only the last star is
                // ever revisited, which is what keeps this from going exponential.
                p = star + 1;
                t = ++starText;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>True when any of <paramref name="patterns"/> matches <paramref name="text"/>.</summary>
    public static bool AnyMatch(IEnumerable<string> patterns, string text, bool ignoreCase = false) =>
        patterns.Any(p => IsMatch(p, text, ignoreCase));

    private static bool Same(char a, char b, bool ignoreCase) =>
        a == b || (ignoreCase && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
