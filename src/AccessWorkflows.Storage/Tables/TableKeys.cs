using System.Globalization;
using System.Text;

namespace AccessWorkflows.Storage.Tables;

/// <summary>
/// How values become PartitionKey / RowKey strings. Table keys may not contain <c>/ \ # ?</c> or control characters;
/// emails, ARNs (<c>policy/ReadOnlyAccess</c>) and delivery keys do. <see cref="Escape"/> percent-encodes those, plus
/// <c>%</c> itself (so the mapping is reversible and injective), <c>'</c> (so a key never needs OData quoting) and
/// <c>|</c> (the separator of composite keys), and leaves everything else as it is, so keys stay readable in a
/// storage browser and ordinal order is kept for plain text.
/// </summary>
internal static class TableKeys
{
    public const char Separator = '|';

    /// <summary>Table keys are at most 1 KiB (512 UTF-16 characters); longer escaped values are refused rather than
    /// truncated (truncation would merge distinct keys).</summary>
    public const int MaxKeyLength = 512;

    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        StringBuilder? escaped = null;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (NeedsEscape(c))
            {
                escaped ??= new StringBuilder(value.Length + 16).Append(value, 0, i);
                escaped.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                escaped?.Append(c);
            }
        }

        var key = escaped?.ToString() ?? value;
        return key.Length <= MaxKeyLength
            ? key
            : throw new ArgumentException($"A table key is longer than {MaxKeyLength} characters once escaped.", nameof(value));
    }

    /// <summary>The value <see cref="Escape"/> was given: every <c>%XX</c> back to its character.</summary>
    public static string Unescape(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var value = new StringBuilder(key.Length);
        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] == '%' && i + 2 < key.Length && int.TryParse(key.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
            {
                value.Append((char)code);
                i += 2;
            }
            else
            {
                value.Append(key[i]);
            }
        }

        return value.ToString();
    }

    /// <summary>Composite key: each part escaped, joined with <see cref="Separator"/> (which escaping removes from the
    /// parts, so two different tuples never produce the same key).</summary>
    public static string Join(params string[] parts) => string.Join(Separator, parts.Select(Escape));

    /// <summary>A key that sorts newest first: 19 digits of <c>DateTime.MaxValue.Ticks - ticks</c>.</summary>
    public static string DescendingTicks(long utcTicks) =>
        (DateTime.MaxValue.Ticks - utcTicks).ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>
    /// A key that sorts in descending ordinal order of <paramref name="value"/>: four hex digits of
    /// <c>0xFFFF - c</c> per character, then <c>~</c> (which sorts after every hex digit, so that a value sorts before
    /// its own prefixes, as descending order wants).
    /// </summary>
    public static string Descending(string value)
    {
        var builder = new StringBuilder((value.Length * 4) + 1);
        foreach (var c in value)
        {
            builder.Append((0xFFFF - c).ToString("x4", CultureInfo.InvariantCulture));
        }

        return builder.Append('~').ToString();
    }

    private static bool NeedsEscape(char c) =>
        c is '%' or '/' or '\\' or '#' or '?' or '\'' or Separator || char.IsControl(c);
}
