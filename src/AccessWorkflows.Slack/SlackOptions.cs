namespace AccessWorkflows.Slack;

/// <summary>The <c>AccessWorkflows:Slack:*</c> keys (SPEC 11). Slack is on only when both secrets are set.</summary>
public sealed class SlackOptions
{
    public const string Section = "AccessWorkflows:Slack";

    /// <summary>The app's signing secret: every inbound request is verified with it. Never logged.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>The bot token (<c>xoxb-...</c>) sent as <c>Authorization: Bearer</c>. Never logged.</summary>
    public string? BotToken { get; set; }

    /// <summary>The Web API base; tests point it at a local fake.</summary>
    public string ApiBaseUrl { get; set; } = "https://slack.com/api/";

    /// <summary>Largest inbound body read; anything longer is refused before it is parsed. Modal submissions
    /// with every block filled stay far below this.</summary>
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>How far a request's timestamp may be from now, either direction (Slack's replay window).</summary>
    public TimeSpan TimestampTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many 429 answers one Web API call waits out before it gives up.</summary>
    public int MaxRateLimitRetries { get; set; } = 5;

    /// <summary>Interactions acknowledged but not yet processed; past this, new ones are refused with 503.</summary>
    public int QueueCapacity { get; set; } = 1000;

    public bool IsEnabled => !string.IsNullOrWhiteSpace(SigningSecret) && !string.IsNullOrWhiteSpace(BotToken);
}
