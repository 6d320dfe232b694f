namespace AccessWorkflows.Webhook;

/// <summary>The <c>AccessWorkflows:Webhook:*</c> keys (SPEC 11).</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "AccessWorkflows:Webhook";

    /// <summary>Where lifecycle events are POSTed. Unset: no events are sent.</summary>
    public string? Url { get; set; }

    /// <summary>
    /// The shared HMAC key signing events out and verifying decisions in. Secret: never logged. Required when
    /// <see cref="Url"/> is set; without it inbound decisions are refused.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>How far a signed timestamp may be from now, either way (replay window).</summary>
    public TimeSpan SignatureTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The largest inbound decision body read; anything longer is refused before it is parsed.</summary>
    public int MaxBodyBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// Attempts per delivery inside one activity run, for quick blips. Longer outages are the workflow's: the
    /// delivery throws and the activity is retried durably with back-off.
    /// </summary>
    public int DeliveryAttempts { get; set; } = 3;

    public TimeSpan DeliveryRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The bound on one POST to the receiver.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal const int MinSecretLength = 16;
}
