namespace AccessWorkflows.Teams;

/// <summary>The <c>AccessWorkflows:Teams:*</c> keys (SPEC 11). The channel is enabled when <see cref="AppId"/> is set.</summary>
public sealed class TeamsOptions
{
    public const string SectionName = "AccessWorkflows:Teams";

    /// <summary>The issuer of every token the Bot Framework channel service sends to a bot.</summary>
    public const string BotFrameworkIssuer = "https://api.botframework.com";

    /// <summary>The scope of the outbound token the Bot Connector accepts.</summary>
    public const string BotConnectorScope = "https://api.botframework.com/.default";

    /// <summary>The bot's Microsoft App ID: the audience of inbound tokens and the client id of outbound ones.</summary>
    public string? AppId { get; set; }

    /// <summary>Client secret for the client-credentials flow. Never logged.</summary>
    public string? AppPassword { get; set; }

    /// <summary>The Entra tenant of the single-tenant bot app.</summary>
    public string? TenantId { get; set; }

    /// <summary>User-assigned managed identity client id; used for outbound tokens when no <see cref="AppPassword"/> is set.</summary>
    public string? ManagedIdentityClientId { get; set; }

    public string OpenIdMetadataUrl { get; set; } = "https://login.botframework.com/v1/.well-known/openidconfiguration";

    /// <summary>The Entra authority base; tests point it at a local server.</summary>
    public string LoginBaseUrl { get; set; } = "https://login.microsoftonline.com";

    /// <summary>Inbound activities larger than this are refused with 413 before they are parsed.</summary>
    public int MaxBodyBytes { get; set; } = 256 * 1024;

    /// <summary>How often the connector retries a throttled or failed call (429, 412, 502, 504) before giving up.</summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>How many accepted clicks may wait for their command at once; beyond it a click is answered "busy".</summary>
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>How long a clicker's email from the member lookup is reused, so a click does not wait for the Bot Connector.</summary>
    public TimeSpan MemberCacheDuration { get; set; } = TimeSpan.FromMinutes(10);

    public bool Enabled => !string.IsNullOrWhiteSpace(AppId);
}
