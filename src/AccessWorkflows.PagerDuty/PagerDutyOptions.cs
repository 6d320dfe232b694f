namespace AccessWorkflows.PagerDuty;

/// <summary>The <c>AccessWorkflows:PagerDuty:*</c> keys (SPEC 11).</summary>
public sealed class PagerDutyOptions
{
    public const string SectionName = "AccessWorkflows:PagerDuty";

    public const string DefaultApiBaseUrl = "https://api.pagerduty.com";

    /// <summary>A REST API v2 key (read-only is enough). Secret: never logged.</summary>
    public string? ApiToken { get; set; }

    public string ApiBaseUrl { get; set; } = DefaultApiBaseUrl;

    /// <summary>
    /// The bound on one whole on-call question (user lookup, every page, every retry). An approval must not wait
    /// on PagerDuty: past this the answer is "not on call" and the request goes to people.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The bound on one HTTP attempt, so a hung connection leaves time for a retry.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Retries after the first attempt, on 429, 5xx, network errors and attempt time-outs.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first back-off delay (exponential with jitter after that) when PagerDuty names no wait.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A guard against a misbehaving server that always says <c>more: true</c>.</summary>
    public int MaxPages { get; set; } = 20;
}
