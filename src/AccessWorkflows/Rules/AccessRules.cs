namespace AccessWorkflows.Rules;

/// <summary>The rules file (SPEC 5), validated. Produced only by <see cref="RulesLoader"/>; everything in it is checked.</summary>
public sealed record AccessRules
{
    /// <summary>Lower-case emails.</summary>
    public IReadOnlyList<string> Admins { get; init; } = [];

    /// <summary>Lower-case emails.</summary>
    public IReadOnlyList<string> Auditors { get; init; } = [];

    /// <summary>Group name → lower-case member emails.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ApproverGroups { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    public IReadOnlyList<AccountConfig> Accounts { get; init; } = [];

    public IReadOnlyList<AccessRule> Rules { get; init; } = [];

    /// <summary>The organisation's IAM Identity Center (SPEC 13); null when the file names none. Permission-set
    /// grants in real accounts need it; sandbox accounts simulate permission sets without it.</summary>
    public IdentityCenterConfig? IdentityCenter { get; init; }

    public AccountConfig? FindAccount(string accountId) => Accounts.FirstOrDefault(a => a.Id == accountId);

    public bool IsAdmin(string email) => Admins.Contains(email, StringComparer.OrdinalIgnoreCase);

    public bool IsAuditor(string email) => Auditors.Contains(email, StringComparer.OrdinalIgnoreCase);
}

/// <summary>An AWS account requests may target.</summary>
public sealed record AccountConfig
{
    /// <summary>12 digits.</summary>
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>"sandbox" for the built-in simulated account; null for real AWS.</summary>
    public string? Provider { get; init; }

    public string? RoleArn { get; init; }

    public string? ExternalId { get; init; }

    public UserMapping UserMapping { get; init; } = UserMapping.UserNameIsEmail;

    public bool IsSandbox => string.Equals(Provider, "sandbox", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The <c>identityCenter</c> of the rules file: the instance assignments are made in, its identity store,
/// the region sso-admin and identitystore are signed for, and the role assumed (like an account's provisioner role)
/// in the management or delegated-administrator account.</summary>
public sealed record IdentityCenterConfig
{
    public required string InstanceArn { get; init; }

    public required string IdentityStoreId { get; init; }

    public required string Region { get; init; }

    public required string RoleArn { get; init; }

    public string? ExternalId { get; init; }

    /// <summary>The management or delegated-administrator account, as an <see cref="AccountConfig"/> whose role the
    /// credential provider assumes like any account's provisioner role.</summary>
    public AccountConfig AsAccount() => new()
    {
        Id = RoleArn.Split(':')[4],
        Name = "identity-center",
        RoleArn = RoleArn,
        ExternalId = ExternalId,
    };
}

/// <summary>How a requester's email maps to an IAM user: <c>user-name-is-email</c> or <c>email-tag</c> with a tag key.</summary>
public sealed record UserMapping(string Kind, string? TagKey)
{
    public const string UserNameIsEmailKind = "user-name-is-email";
    public const string EmailTagKind = "email-tag";

    public static UserMapping UserNameIsEmail { get; } = new(UserNameIsEmailKind, null);
}

/// <summary>One rule. Rules are tried in file order; the first that matches decides.</summary>
public sealed record AccessRule
{
    public required string Name { get; init; }

    /// <summary>Emails, <c>*@domain</c> globs, or <c>group:&lt;approverGroup&gt;</c>.</summary>
    public IReadOnlyList<string> Requesters { get; init; } = [];

    public IReadOnlyList<string> Accounts { get; init; } = [];

    /// <summary>Globs (<c>*</c>, <c>?</c>) on policy ARNs.</summary>
    public IReadOnlyList<string> Policies { get; init; } = [];

    /// <summary>Globs on group names.</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];

    /// <summary>Globs on resource ARNs; the base policy of a resource request must match <see cref="Policies"/>.</summary>
    public IReadOnlyList<string> Resources { get; init; } = [];

    /// <summary>Globs on IAM Identity Center permission set ARNs (access type <c>permissionSet</c>).</summary>
    public IReadOnlyList<string> PermissionSets { get; init; } = [];

    public TimeSpan DefaultDuration { get; init; } = TimeSpan.FromHours(1);

    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(8);

    public bool RequireReason { get; init; }

    public bool AllowOnBehalfOf { get; init; }

    public required ApprovalRule Approval { get; init; }

    /// <summary>At most this many of one requester's requests under this rule may be approved or active at once
    /// (checked at creation); null: no limit.</summary>
    public int? MaxActivePerRequester { get; init; }

    /// <summary>At most this many of one requester's requests under this rule may wait for a decision at once
    /// (checked at creation); null: no limit.</summary>
    public int? MaxPendingPerRequester { get; init; }

    /// <summary>How active grants of this rule may be extended (key <c>extension</c>); null: they may not.</summary>
    public Requests.ExtensionPlan? Extension { get; init; }
    /// <summary>When set, the requester may approve their own request at once with a reason (break-glass, SPEC 13).</summary>
    public BreakGlassRule? BreakGlass { get; init; }

    /// <summary>The 1-based line of the rule in the file, for messages.</summary>
    public int Line { get; init; }
}

public sealed record ApprovalRule
{
    public OnCallRule? OnCall { get; init; }

    public bool Auto { get; init; }

    /// <summary>Escalation tiers: any notified level's <c>minApprovals</c> approves. Empty when <see cref="Stages"/> is used.</summary>
    public IReadOnlyList<ApprovalLevelRule> Levels { get; init; } = [];

    /// <summary>Stages that must all pass, in order; each is escalation tiers like <see cref="Levels"/>. Empty when
    /// <see cref="Levels"/> is used.</summary>
    public IReadOnlyList<ApprovalStageRule> Stages { get; init; } = [];

    public TimeSpan ApprovalWindow { get; init; } = TimeSpan.FromDays(1);

    public bool AllowSelfApproval { get; init; }
}

public sealed record OnCallRule(IReadOnlyList<string> PagerDutySchedules, int EscalationLevel, TimeSpan Duration);

public sealed record ApprovalLevelRule
{
    /// <summary>Emails or <c>group:&lt;approverGroup&gt;</c>.</summary>
    public IReadOnlyList<string> Approvers { get; init; } = [];

    public int MinApprovals { get; init; } = 1;

    public string? SlackChannel { get; init; }

    public string? TeamsChannel { get; init; }

    public bool Webhook { get; init; }

    public TimeSpan? EscalateAfter { get; init; }

    /// <summary>A PagerDuty escalation policy id: when the request reaches this level, the policy's on-call responders
    /// (escalation level 1 of the policy, at that moment) become approvers of the level too.</summary>
    public string? PagerDutyEscalationPolicy { get; init; }
}

/// <summary>One stage of <see cref="ApprovalRule.Stages"/>: its own escalation tiers.</summary>
public sealed record ApprovalStageRule(IReadOnlyList<ApprovalLevelRule> Levels);

/// <summary>
/// <c>breakGlass: { maxDuration, notify: { slackChannel, teamsChannel } }</c>: the requester's own approval with a
/// non-empty comment approves at once, for at most <see cref="MaxDuration"/>; every approver, every admin and the
/// <c>notify</c> destinations are alerted.
/// </summary>
/// <param name="SlackChannel">An extra Slack channel id (C0SECOPS) that gets the alert and the daily reminders.</param>
/// <param name="TeamsChannel">An extra Teams conversation id (19:...@thread.tacv2) that gets them.</param>
public sealed record BreakGlassRule(TimeSpan MaxDuration, string? SlackChannel, string? TeamsChannel);
