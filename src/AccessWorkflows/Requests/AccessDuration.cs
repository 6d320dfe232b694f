using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using System.Xml;

namespace AccessWorkflows.Requests;

/// <summary>Durations as the product speaks them: ISO 8601 (PT1H, P1D, PT30S) everywhere, and the short forms
/// 30m, 1h, 8h, 1d, 45s where people type them (chat, CLI).</summary>
public static partial class AccessDuration
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 32)
        {
            return false;
        }

        text = text.Trim();
        var shortForm = ShortFormRegex().Match(text);
        if (shortForm.Success)
        {
            var n = int.Parse(shortForm.Groups[1].Value, CultureInfo.InvariantCulture);
            duration = shortForm.Groups[2].Value.ToLowerInvariant() switch
            {
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
            return duration > TimeSpan.Zero;
        }

        if (!text.StartsWith('P'))
        {
            return false;
        }

        try
        {
            duration = XmlConvert.ToTimeSpan(text);
            return duration > TimeSpan.Zero;
        }
        catch (FormatException)
        {
            return false;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var d) ? d : throw new FormatException($"'{text}' is not a duration (ISO 8601 such as PT1H, or 30m, 1h, 1d).");

    public static string Format(TimeSpan duration) => XmlConvert.ToString(duration);

    /// <summary>A human rendering, e.g. "1h 30m".</summary>
    public static string Humanize(TimeSpan d)
    {
        var parts = new List<string>();
        if (d.Days > 0)
        {
            parts.Add($"{d.Days}d");
        }

        if (d.Hours > 0)
        {
            parts.Add($"{d.Hours}h");
        }

        if (d.Minutes > 0)
        {
            parts.Add($"{d.Minutes}m");
        }

        if (d.Seconds > 0 || parts.Count == 0)
        {
            parts.Add($"{d.Seconds}s");
        }

        return string.Join(' ', parts);
    }

    [GeneratedRegex(@"^(\d{1,6})([smhdSMHD])$")]
    private static partial Regex ShortFormRegex();
}

/// <summary>Writes and reads <see cref="TimeSpan"/> as an ISO 8601 duration, the JSON shape of every duration.</summary>
public sealed class IsoDurationJsonConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        return AccessDuration.TryParse(text, out var d) ? d : throw new JsonException($"'{text}' is not an ISO 8601 duration.");
    }

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options)
        => writer.WriteStringValue(AccessDuration.Format(value));
}
