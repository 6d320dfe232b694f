using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AccessWorkflows.Requests;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace AccessWorkflows.Rules;

/// <summary>
/// Reads and validates the rules file (SPEC 5). Every error names the line and the field.
/// </summary>
/// <remarks>
/// The file decides who may hold which AWS permissions, so the loader is strict where leniency could weaken it:
/// unknown keys, duplicate keys, anchors/aliases, wrong types and unresolvable references are all errors rather
/// than silently ignored. Choices that are not spelled out in SPEC 5:
/// <list type="bullet">
/// <item><c>escalateAfter</c> on the last level is an error (there is no next level to escalate to), and so is an
/// <c>escalateAfter</c> that is not shorter than <c>approvalWindow</c> (the request would time out first).</item>
/// <item><c>auto: true</c> together with <c>levels</c> is an error: the levels would never be asked, and a reader
/// of the file would believe they are.</item>
/// <item>Durations in the file are ISO 8601 only (no <c>1h</c> short forms), without years or months (no fixed
/// length), positive, and at most 365 days.</item>
/// <item>A sandbox account takes no <c>roleArn</c>/<c>externalId</c>; a real account's <c>roleArn</c> must be a role
/// in that same account (a role elsewhere would provision into the wrong account).</item>
/// <item>Booleans are <c>true</c>/<c>false</c> only (not YAML 1.1 <c>yes</c>/<c>on</c>).</item>
/// </list>
/// </remarks>
public static partial class RulesLoader
{
    /// <summary>Files larger than this are refused before parsing: a rules file is hand-written and small.</summary>
    public const int MaxFileChars = 1024 * 1024;

    /// <summary>The schema nests five levels; anything much deeper is not a rules file (and deep nesting could exhaust
    /// the stack of the recursive representation-model loader).</summary>
    private const int MaxDepth = 16;

    private static readonly TimeSpan MaxAnyDuration = TimeSpan.FromDays(365);

    private static readonly string[] RootKeys = ["admins", "auditors", "approverGroups", "accounts", "rules", "identityCenter"];
    private static readonly string[] IdentityCenterKeys = ["instanceArn", "identityStoreId", "region", "roleArn", "externalId"];
    private static readonly string[] AccountKeys = ["id", "name", "provider", "roleArn", "externalId", "userMapping"];
    private static readonly string[] UserMappingKeys = ["kind", "tagKey"];
    private static readonly string[] RuleKeys =
        ["name", "requesters", "accounts", "access", "defaultDuration", "maxDuration", "requireReason", "allowOnBehalfOf", "approval", "breakGlass",
         "maxActivePerRequester", "maxPendingPerRequester", "extension"];
    private static readonly string[] ExtensionKeys = ["maxExtensions", "maxExtendBy", "requireApproval"];
    private static readonly string[] AccessKeys = ["policies", "groups", "resources", "permissionSets"];
    private static readonly string[] ApprovalKeys = ["onCall", "auto", "levels", "stages", "approvalWindow", "allowSelfApproval"];
    private static readonly string[] StageKeys = ["levels"];
    private static readonly string[] BreakGlassKeys = ["maxDuration", "notify"];
    private static readonly string[] BreakGlassNotifyKeys = ["slackChannel", "teamsChannel"];
    private static readonly string[] OnCallKeys = ["pagerDutySchedules", "escalationLevel", "duration"];
    private static readonly string[] LevelKeys = ["approvers", "minApprovals", "notify", "escalateAfter", "pagerDutyEscalationPolicy"];
    private static readonly string[] NotifyKeys = ["slackChannel", "teamsChannel", "webhook"];

    /// <summary>Reads and validates a rules file. A missing file is a <see cref="RulesFileException"/> with line 0.</summary>
    public static AccessRules Load(string path)
    {
        var name = Path.GetFileName(path);
        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new RulesFileException(name, 0, "(file)", $"the rules file '{Path.GetFullPath(path)}' does not exist");
            }

            // Bytes >= chars for UTF-8 text, so this refuses only what Parse would refuse anyway, without reading it.
            if (info.Length > MaxFileChars * 4L)
            {
                throw new RulesFileException(name, 0, "(file)", $"is larger than {MaxFileChars} characters");
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RulesFileException(name, 0, "(file)", $"cannot be read: {e.Message}");
        }

        return Parse(text, name);
    }

    /// <summary>Parses YAML text; throws <see cref="RulesFileException"/> on the first error.</summary>
    public static AccessRules Parse(string yaml, string sourceName = "access-rules.yaml")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (yaml.Length > MaxFileChars)
        {
            throw new RulesFileException(sourceName, 0, "(file)", $"is larger than {MaxFileChars} characters");
        }

        var reader = new Reader(sourceName);
        YamlNode? root;
        try
        {
            // The event pass catches what the representation model either cannot report with a field path
            // (duplicate keys) or should never be asked to build (aliases, runaway nesting).
            reader.CheckStructure(yaml);
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            throw new RulesFileException(sourceName, (int)e.Start.Line, "(yaml)", $"not valid YAML: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner reports some malformed input (e.g. an unclosed '[' at the end of the text) this way
            // instead of as a YamlException; it is still the file's fault, not ours.
            throw new RulesFileException(sourceName, reader.LastLine, "(yaml)", $"not valid YAML after this line ({e.Message})");
        }

        return reader.ReadRoot(root);
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex NameRegex();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")]
    private static partial Regex AccountNameRegex();

    [GeneratedRegex(@"^arn:aws(-cn|-us-gov)?:iam::(\d{12}):role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")]
    private static partial Regex RoleArnRegex();

    [GeneratedRegex(@"^[\w+=,.@:/-]{2,1224}$")]
    private static partial Regex ExternalIdRegex();

    // The identity store API's own pattern for IdentityStoreId.
    [GeneratedRegex(@"^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")]
    private static partial Regex IdentityStoreIdRegex();

    [GeneratedRegex(@"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")]
    private static partial Regex RegionRegex();

    [GeneratedRegex(@"^[A-Za-z0-9 _.:/=+@-]{1,128}$")]
    private static partial Regex TagKeyRegex();

    [GeneratedRegex(@"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")]
    private static partial Regex DomainRegex();

    [GeneratedRegex(@"^arn:[A-Za-z0-9_+=,.@:/*?-]{1,2044}$")]
    private static partial Regex ArnGlobRegex();

    [GeneratedRegex(@"^[\w+=,.@*?-]{1,128}$")]
    private static partial Regex GroupGlobRegex();

    [GeneratedRegex(@"^[A-Za-z0-9]{1,64}$")]
    private static partial Regex ScheduleIdRegex();

    // Slack channel ids (C0123ABCD) or names (#ops); Teams channel ids (19:abc@thread.tacv2).
    [GeneratedRegex(@"^#?[A-Za-z0-9_.:@-]{1,128}$")]
    private static partial Regex ChannelRegex();

    [GeneratedRegex(@"^\d{1,6}$")]
    private static partial Regex WholeNumberRegex();

    /// <summary>One read of one file; carries the source name into every error.</summary>
    private sealed class Reader(string source)
    {
        private Dictionary<string, IReadOnlyList<string>> groups = new Dictionary<string, IReadOnlyList<string>>();

        // ---------- event pass ----------

        /// <summary>The line the event pass had reached: where to point when the YAML library fails without a position.</summary>
        public int LastLine { get; private set; }

        public void CheckStructure(string yaml)
        {
            var parser = new Parser(new StringReader(yaml));
            var frames = new Stack<Frame>();
            var documents = 0;
            while (parser.MoveNext())
            {
                var ev = parser.Current!;
                LastLine = (int)ev.End.Line;
                switch (ev)
                {
                    case DocumentStart:
                        if (++documents > 1)
                        {
                            throw Error(ev.Start, "(yaml)", "the file must hold one YAML document");
                        }

                        break;
                    case AnchorAlias:
                        throw Error(ev.Start, "(yaml)", "YAML anchors and aliases are not allowed: write each value out");
                    case MappingEnd or SequenceEnd:
                        frames.Pop();
                        break;
                    case NodeEvent node:
                        var path = PositionOf(frames, node);
                        if (path is null)
                        {
                            break; // a mapping key, recorded by PositionOf
                        }

                        if (!node.Anchor.IsEmpty)
                        {
                            throw Error(ev.Start, Show(path), "YAML anchors and aliases are not allowed: write each value out");
                        }

                        if (node is MappingStart or SequenceStart)
                        {
                            if (frames.Count >= MaxDepth)
                            {
                                throw Error(ev.Start, Show(path), "nested too deeply");
                            }

                            frames.Push(new Frame(path, node is MappingStart));
                        }

                        break;
                }
            }
        }

        /// <summary>The path of the node the event starts, or null when the event is a mapping key.</summary>
        private string? PositionOf(Stack<Frame> frames, NodeEvent node)
        {
            if (frames.Count == 0)
            {
                return "";
            }

            var top = frames.Peek();
            if (!top.IsMapping)
            {
                return $"{top.Path}[{++top.Index}]";
            }

            if (top.CurrentKey is null)
            {
                if (node is not Scalar key)
                {
                    throw Error(node.Start, Show(top.Path), "keys must be plain text");
                }

                if (!key.Anchor.IsEmpty)
                {
                    throw Error(node.Start, Show(top.Path), "YAML anchors and aliases are not allowed: write each value out");
                }

                if (!top.Keys.Add(key.Value))
                {
                    throw Error(node.Start, Join(top.Path, key.Value), "duplicate key");
                }

                top.CurrentKey = key.Value;
                return null;
            }

            var path = Join(top.Path, top.CurrentKey);
            top.CurrentKey = null;
            return path;
        }

        private sealed class Frame(string path, bool isMapping)
        {
            public string Path { get; } = path;

            public bool IsMapping { get; } = isMapping;

            public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);

            public string? CurrentKey { get; set; }

            public int Index { get; set; } = -1;
        }

        // ---------- model pass ----------

        public AccessRules ReadRoot(YamlNode? root)
        {
            if (root is null || IsNull(root))
            {
                return new AccessRules();
            }

            var f = Fields(root, "", RootKeys);
            var admins = EmailList(f, "admins");
            var auditors = EmailList(f, "auditors");
            groups = ReadGroups(f);
            var accounts = ReadAccounts(f);
            var rules = ReadRules(f, accounts);
            var identityCenter = ReadIdentityCenter(f);
            if (identityCenter is null && rules.FirstOrDefault(r => r.PermissionSets.Count > 0 && r.Accounts.Any(a => accounts.Single(x => x.Id == a) is { IsSandbox: false })) is { } needs)
            {
                throw Error(new Mark(0, needs.Line, 1), "identityCenter", $"rule '{needs.Name}' grants permission sets in a real AWS account: name the IAM Identity Center under 'identityCenter'");
            }

            return new AccessRules
            {
                IdentityCenter = identityCenter,
                Admins = admins,
                Auditors = auditors,
                ApproverGroups = groups,
                Accounts = accounts,
                Rules = rules,
            };
        }

        private Dictionary<string, IReadOnlyList<string>> ReadGroups(Map f)
        {
            var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            if (f.Get("approverGroups") is not { } node)
            {
                return result;
            }

            var map = AsMapping(node, "approverGroups");
            foreach (var (keyNode, value) in map.Children)
            {
                var name = ((YamlScalarNode)keyNode).Value ?? "";
                var path = Join("approverGroups", name);
                if (!NameRegex().IsMatch(name))
                {
                    throw Error(keyNode.Start, path, "a group name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit");
                }

                var members = Emails(value, path);
                if (members.Count == 0)
                {
                    throw Error(keyNode.Start, path, "must list at least one email");
                }

                result[name] = members;
            }

            return result;
        }

        private List<AccountConfig> ReadAccounts(Map root)
        {
            var result = new List<AccountConfig>();
            if (root.Get("accounts") is not { } node)
            {
                return result;
            }

            var ids = new HashSet<string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (item, path) in Items(node, "accounts"))
            {
                var f = Fields(item, path, AccountKeys);
                var (idNode, id) = RequiredString(f, "id");
                if (!Grammar.IsAccountId(id))
                {
                    throw Error(idNode.Start, f.PathOf("id"), "must be a 12-digit AWS account id (quote it: \"111122223333\")");
                }

                if (!ids.Add(id))
                {
                    throw Error(idNode.Start, f.PathOf("id"), $"account {id} is listed twice");
                }

                var (nameNode, name) = RequiredString(f, "name");
                if (!AccountNameRegex().IsMatch(name))
                {
                    throw Error(nameNode.Start, f.PathOf("name"), "must be 1-64 letters, digits, spaces, '_', '.' or '-', starting with a letter or digit");
                }

                if (!names.Add(name))
                {
                    throw Error(nameNode.Start, f.PathOf("name"), $"the account name '{name}' is used twice");
                }

                var provider = OptionalString(f, "provider");
                if (provider is not null && provider.Value.Text != "sandbox")
                {
                    throw Error(provider.Value.Node.Start, f.PathOf("provider"), "the only provider is 'sandbox'; omit it for a real AWS account");
                }

                var isSandbox = provider is not null;
                var roleArn = OptionalString(f, "roleArn");
                var externalId = OptionalString(f, "externalId");
                if (isSandbox)
                {
                    if (roleArn is not null)
                    {
                        throw Error(roleArn.Value.Node.Start, f.PathOf("roleArn"), "a sandbox account takes no roleArn (remove it, or remove 'provider: sandbox' for real AWS)");
                    }

                    if (externalId is not null)
                    {
                        throw Error(externalId.Value.Node.Start, f.PathOf("externalId"), "a sandbox account takes no externalId");
                    }
                }
                else
                {
                    if (roleArn is null)
                    {
                        throw Error(item.Start, f.PathOf("roleArn"), "a real AWS account needs the roleArn of its provisioner role (or 'provider: sandbox')");
                    }

                    var m = RoleArnRegex().Match(roleArn.Value.Text);
                    if (!m.Success)
                    {
                        throw Error(roleArn.Value.Node.Start, f.PathOf("roleArn"), "must be an IAM role ARN such as arn:aws:iam::444455556666:role/AccessWorkflowsProvisioner");
                    }

                    if (m.Groups[2].Value != id)
                    {
                        throw Error(roleArn.Value.Node.Start, f.PathOf("roleArn"), $"must be a role in account {id} itself");
                    }

                    if (externalId is not null && !ExternalIdRegex().IsMatch(externalId.Value.Text))
                    {
                        throw Error(externalId.Value.Node.Start, f.PathOf("externalId"), "must be 2-1224 letters, digits or +=,.@:/-_");
                    }
                }

                result.Add(new AccountConfig
                {
                    Id = id,
                    Name = name,
                    Provider = provider?.Text,
                    RoleArn = roleArn?.Text,
                    ExternalId = externalId?.Text,
                    UserMapping = ReadUserMapping(f),
                });
            }

            return result;
        }

        private IdentityCenterConfig? ReadIdentityCenter(Map root)
        {
            if (root.Get("identityCenter") is not { } node)
            {
                return null;
            }

            var f = Fields(node, "identityCenter", IdentityCenterKeys);
            var (instanceNode, instanceArn) = RequiredString(f, "instanceArn");
            if (!Grammar.IsInstanceArn(instanceArn))
            {
                throw Error(instanceNode.Start, f.PathOf("instanceArn"), "must be an IAM Identity Center instance ARN such as arn:aws:sso:::instance/ssoins-0123456789abcdef");
            }

            var (storeNode, storeId) = RequiredString(f, "identityStoreId");
            if (!IdentityStoreIdRegex().IsMatch(storeId))
            {
                throw Error(storeNode.Start, f.PathOf("identityStoreId"), "must be an identity store id such as d-1234567890");
            }

            var (regionNode, region) = RequiredString(f, "region");
            if (!RegionRegex().IsMatch(region))
            {
                throw Error(regionNode.Start, f.PathOf("region"), "must be an AWS region such as us-east-1");
            }

            var (roleNode, roleArn) = RequiredString(f, "roleArn");
            if (!RoleArnRegex().IsMatch(roleArn))
            {
                throw Error(roleNode.Start, f.PathOf("roleArn"), "must be an IAM role ARN in the management or delegated-administrator account");
            }

            var externalId = OptionalString(f, "externalId");
            if (externalId is not null && !ExternalIdRegex().IsMatch(externalId.Value.Text))
            {
                throw Error(externalId.Value.Node.Start, f.PathOf("externalId"), "must be 2-1224 letters, digits or +=,.@:/-_");
            }

            return new IdentityCenterConfig
            {
                InstanceArn = instanceArn,
                IdentityStoreId = storeId,
                Region = region,
                RoleArn = roleArn,
                ExternalId = externalId?.Text,
            };
        }

        private UserMapping ReadUserMapping(Map account)
        {
            if (account.Get("userMapping") is not { } node)
            {
                return UserMapping.UserNameIsEmail;
            }

            var f = Fields(node, account.PathOf("userMapping"), UserMappingKeys);
            var (kindNode, kind) = RequiredString(f, "kind");
            var tagKey = OptionalString(f, "tagKey");
            switch (kind)
            {
                case UserMapping.UserNameIsEmailKind:
                    if (tagKey is not null)
                    {
                        throw Error(tagKey.Value.Node.Start, f.PathOf("tagKey"), "only the email-tag mapping takes a tagKey");
                    }

                    return UserMapping.UserNameIsEmail;
                case UserMapping.EmailTagKind:
                    if (tagKey is null)
                    {
                        throw Error(node.Start, f.PathOf("tagKey"), "the email-tag mapping needs the tagKey that holds the email");
                    }

                    if (!TagKeyRegex().IsMatch(tagKey.Value.Text))
                    {
                        throw Error(tagKey.Value.Node.Start, f.PathOf("tagKey"), "must be an IAM tag key (1-128 letters, digits, spaces or _.:/=+@-)");
                    }

                    return new UserMapping(UserMapping.EmailTagKind, tagKey.Value.Text);
                default:
                    throw Error(kindNode.Start, f.PathOf("kind"), $"must be '{UserMapping.EmailTagKind}' or '{UserMapping.UserNameIsEmailKind}'");
            }
        }

        private List<AccessRule> ReadRules(Map root, List<AccountConfig> accounts)
        {
            var result = new List<AccessRule>();
            if (root.Get("rules") is not { } node)
            {
                return result;
            }

            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (item, path) in Items(node, "rules"))
            {
                var f = Fields(item, path, RuleKeys);
                var (nameNode, name) = RequiredString(f, "name");
                if (!NameRegex().IsMatch(name))
                {
                    throw Error(nameNode.Start, f.PathOf("name"), "a rule name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit");
                }

                if (!names.Add(name))
                {
                    throw Error(nameNode.Start, f.PathOf("name"), $"the rule name '{name}' is used twice");
                }

                var requesters = RequiredList(f, "requesters").Select(e => Requester(e.Node, e.Text, e.Path)).Distinct().ToList();
                var ruleAccounts = new List<string>();
                foreach (var (accountNode, accountId, accountPath) in RequiredList(f, "accounts"))
                {
                    if (!accounts.Any(a => a.Id == accountId))
                    {
                        throw Error(accountNode.Start, accountPath, $"'{accountId}' is not the id of an account under 'accounts'");
                    }

                    if (!ruleAccounts.Contains(accountId))
                    {
                        ruleAccounts.Add(accountId);
                    }
                }

                var (policies, groupGlobs, resources, permissionSets) = ReadAccess(f, item);

                var defaultDuration = OptionalDuration(f, "defaultDuration") ?? TimeSpan.FromHours(1);
                var maxDuration = OptionalDuration(f, "maxDuration") ?? TimeSpan.FromHours(8);
                if (defaultDuration > maxDuration)
                {
                    var at = f.Get("defaultDuration") is not null ? f.KeyStart("defaultDuration") : f.KeyStart("maxDuration");
                    throw Error(at, f.PathOf("defaultDuration"), $"must not exceed maxDuration ({AccessDuration.Format(maxDuration)})");
                }

                var approval = ReadApproval(f, item);
                result.Add(new AccessRule
                {
                    Name = name,
                    Requesters = requesters,
                    Accounts = ruleAccounts,
                    Policies = policies,
                    Groups = groupGlobs,
                    Resources = resources,
                    PermissionSets = permissionSets,
                    DefaultDuration = defaultDuration,
                    MaxDuration = maxDuration,
                    RequireReason = OptionalBool(f, "requireReason") ?? false,
                    AllowOnBehalfOf = OptionalBool(f, "allowOnBehalfOf") ?? false,
                    Approval = approval,
                    BreakGlass = ReadBreakGlass(f, approval, maxDuration),
                    MaxActivePerRequester = OptionalPositive(f, "maxActivePerRequester"),
                    MaxPendingPerRequester = OptionalPositive(f, "maxPendingPerRequester"),
                    Extension = ReadExtension(f),
                    Line = (int)item.Start.Line,
                });
            }

            return result;
        }

        private (List<string> Policies, List<string> Groups, List<string> Resources, List<string> PermissionSets) ReadAccess(Map rule, YamlNode ruleNode)
        {
            if (rule.Get("access") is not { } node)
            {
                throw Error(ruleNode.Start, rule.PathOf("access"), "is required: the policies, groups or resources this rule allows");
            }

            var f = Fields(node, rule.PathOf("access"), AccessKeys);
            var policies = Globs(f, "policies", g => ArnGlobRegex().IsMatch(g), "must be a glob on policy ARNs starting with 'arn:' (letters, digits, _+=,.@:/- and the wildcards * ?)");
            var groups = Globs(f, "groups", g => GroupGlobRegex().IsMatch(g), "must be a glob on IAM group names (1-128 letters, digits, +=,.@_- and the wildcards * ?)");
            var resources = Globs(f, "resources", g => ArnGlobRegex().IsMatch(g), "must be a glob on resource ARNs starting with 'arn:' (letters, digits, _+=,.@:/- and the wildcards * ?)");
            var permissionSets = Globs(f, "permissionSets", g => ArnGlobRegex().IsMatch(g) && g.Contains(":sso:::permissionSet/", StringComparison.Ordinal), "must be a glob on permission set ARNs such as arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-*");
            if (policies.Count + groups.Count + resources.Count + permissionSets.Count == 0)
            {
                throw Error(rule.KeyStart("access"), rule.PathOf("access"), "allows nothing: list policies, groups, resources or permissionSets");
            }

            if (resources.Count > 0 && policies.Count == 0)
            {
                throw Error(f.KeyStart("resources"), f.PathOf("resources"), "resource access needs base policies: list them under 'policies'");
            }

            return (policies, groups, resources, permissionSets);
        }

        private List<string> Globs(Map f, string key, Func<string, bool> valid, string problem)
        {
            var result = new List<string>();
            foreach (var (node, text, path) in OptionalList(f, key))
            {
                if (!valid(text))
                {
                    throw Error(node.Start, path, problem);
                }

                if (!result.Contains(text))
                {
                    result.Add(text);
                }
            }

            return result;
        }

        /// <summary><c>extension: { maxExtensions, maxExtendBy, requireApproval }</c>: both limits are required, so a
        /// rule never allows extending without bound by leaving one out.</summary>
        private ExtensionPlan? ReadExtension(Map rule)
        {
            if (rule.Get("extension") is not { } node)
            {
                return null;
            }

            var f = Fields(node, rule.PathOf("extension"), ExtensionKeys);
            var count = OptionalPositive(f, "maxExtensions")
                ?? throw Error(node.Start, f.PathOf("maxExtensions"), "is required: how many times one grant may be extended");
            var step = OptionalDuration(f, "maxExtendBy")
                ?? throw Error(node.Start, f.PathOf("maxExtendBy"), "is required: the most one extension may add, such as PT1H");
            return new ExtensionPlan(count, step, OptionalBool(f, "requireApproval") ?? false);
        }

        private ApprovalRule ReadApproval(Map rule, YamlNode ruleNode)
        {
            var node = rule.Get("approval");
            var path = rule.PathOf("approval");
            if (node is null)
            {
                throw Error(ruleNode.Start, path, "is required: at least one approval level, or 'auto: true'");
            }

            var f = Fields(node, path, ApprovalKeys);
            var auto = OptionalBool(f, "auto") ?? false;
            var window = OptionalDuration(f, "approvalWindow") ?? TimeSpan.FromDays(1);
            var levels = f.Get("levels") is { } levelsNode ? ReadLevels(levelsNode, f.PathOf("levels"), window) : [];
            var stages = new List<ApprovalStageRule>();
            if (f.Get("stages") is { } stagesNode)
            {
                if (f.Get("levels") is not null)
                {
                    throw Error(f.KeyStart("stages"), f.PathOf("stages"), "use either 'levels' (escalation tiers) or 'stages' (all must pass), not both");
                }

                foreach (var (stageNode, stagePath) in Items(stagesNode, f.PathOf("stages")))
                {
                    var stage = Fields(stageNode, stagePath, StageKeys);
                    var stageLevels = stage.Get("levels") is { } stageLevelsNode ? ReadLevels(stageLevelsNode, stage.PathOf("levels"), window) : [];
                    if (stageLevels.Count == 0)
                    {
                        throw Error(stageNode.Start, stage.PathOf("levels"), "a stage needs at least one approval level");
                    }

                    stages.Add(new ApprovalStageRule(stageLevels));
                }

                if (stages.Count == 0)
                {
                    throw Error(f.KeyStart("stages"), f.PathOf("stages"), "must list at least one stage");
                }
            }

            if (auto && (levels.Count > 0 || stages.Count > 0))
            {
                var key = levels.Count > 0 ? "levels" : "stages";
                throw Error(f.KeyStart(key), f.PathOf(key), $"'auto: true' approves without asking anyone: remove the {key} or the auto");
            }

            if (!auto && levels.Count == 0 && stages.Count == 0)
            {
                throw Error(f.Get("levels") is null ? node.Start : f.KeyStart("levels"), f.PathOf("levels"), "needs at least one approval level (or 'auto: true')");
            }

            return new ApprovalRule
            {
                OnCall = ReadOnCall(f),
                Auto = auto,
                Levels = levels,
                Stages = stages,
                ApprovalWindow = window,
                AllowSelfApproval = OptionalBool(f, "allowSelfApproval") ?? false,
            };
        }

        /// <summary>A list of levels (under <c>approval.levels</c> or a stage's <c>levels</c>); the last takes no escalateAfter.</summary>
        private List<ApprovalLevelRule> ReadLevels(YamlNode levelsNode, string path, TimeSpan window)
        {
            var items = Items(levelsNode, path).ToList();
            return [.. items.Select((item, i) => ReadLevel(item.Node, item.Path, isLast: i == items.Count - 1, window))];
        }

        /// <summary><c>breakGlass</c>: refused on a rule that approves automatically (nobody would need to break the
        /// glass), and its <c>maxDuration</c> may not exceed the rule's.</summary>
        private BreakGlassRule? ReadBreakGlass(Map rule, ApprovalRule approval, TimeSpan ruleMaxDuration)
        {
            if (rule.Get("breakGlass") is not { } node)
            {
                return null;
            }

            var f = Fields(node, rule.PathOf("breakGlass"), BreakGlassKeys);
            if (approval.Auto)
            {
                throw Error(rule.KeyStart("breakGlass"), rule.PathOf("breakGlass"), "the rule approves automatically ('auto: true'), so there is no glass to break");
            }

            var maxDuration = OptionalDuration(f, "maxDuration")
                ?? throw Error(node.Start, f.PathOf("maxDuration"), "is required: the longest access a break-glass approval grants");
            if (maxDuration > ruleMaxDuration)
            {
                throw Error(f.Get("maxDuration")!.Start, f.PathOf("maxDuration"), $"must not exceed the rule's maxDuration ({AccessDuration.Format(ruleMaxDuration)})");
            }

            string? slack = null, teams = null;
            if (f.Get("notify") is { } notifyNode)
            {
                var n = Fields(notifyNode, f.PathOf("notify"), BreakGlassNotifyKeys);
                slack = Channel(n, "slackChannel");
                teams = Channel(n, "teamsChannel");
            }

            return new BreakGlassRule(maxDuration, slack, teams);
        }

        private OnCallRule? ReadOnCall(Map approval)
        {
            if (approval.Get("onCall") is not { } node)
            {
                return null;
            }

            var f = Fields(node, approval.PathOf("onCall"), OnCallKeys);
            var schedules = new List<string>();
            foreach (var (scheduleNode, id, path) in RequiredList(f, "pagerDutySchedules"))
            {
                if (!ScheduleIdRegex().IsMatch(id))
                {
                    throw Error(scheduleNode.Start, path, "must be a PagerDuty schedule id (letters and digits, e.g. PSCHED1)");
                }

                if (!schedules.Contains(id))
                {
                    schedules.Add(id);
                }
            }

            var level = OptionalWholeNumber(f, "escalationLevel")
                ?? throw Error(node.Start, f.PathOf("escalationLevel"), "is required: the PagerDuty escalation level whose on-call engineers are approved");
            if (level < 1)
            {
                throw Error(f.Get("escalationLevel")!.Start, f.PathOf("escalationLevel"), "must be a whole number >= 1");
            }

            var duration = OptionalDuration(f, "duration")
                ?? throw Error(node.Start, f.PathOf("duration"), "is required: the longest access an on-call engineer is approved for");
            return new OnCallRule(schedules, level, duration);
        }

        private ApprovalLevelRule ReadLevel(YamlNode node, string path, bool isLast, TimeSpan window)
        {
            var f = Fields(node, path, LevelKeys);
            var policy = OptionalString(f, "pagerDutyEscalationPolicy");
            if (policy is { } p && !ScheduleIdRegex().IsMatch(p.Text))
            {
                throw Error(p.Node.Start, f.PathOf("pagerDutyEscalationPolicy"), "must be a PagerDuty escalation policy id (letters and digits, e.g. PESC123)");
            }

            var approvers = new List<string>();
            var distinct = new HashSet<string>(StringComparer.Ordinal);

            // With a PagerDuty policy the on-call responders are approvers, so listing others is optional.
            foreach (var (approverNode, text, approverPath) in policy is null ? RequiredList(f, "approvers") : OptionalList(f, "approvers"))
            {
                var approver = Approver(approverNode, text, approverPath);
                if (!approvers.Contains(approver))
                {
                    approvers.Add(approver);
                }

                distinct.UnionWith(approver.StartsWith("group:", StringComparison.Ordinal) ? groups[approver["group:".Length..]] : [approver]);
            }

            var min = OptionalWholeNumber(f, "minApprovals") ?? 1;
            if (min < 1)
            {
                throw Error(f.Get("minApprovals")!.Start, f.PathOf("minApprovals"), "must be a whole number >= 1");
            }

            if (policy is null && min > distinct.Count)
            {
                throw Error(f.Get("minApprovals")!.Start, f.PathOf("minApprovals"), $"is more than the {distinct.Count} distinct approver(s) of this level");
            }

            var escalateAfter = OptionalDuration(f, "escalateAfter");
            if (escalateAfter is not null)
            {
                var at = f.Get("escalateAfter")!.Start;
                if (isLast)
                {
                    throw Error(at, f.PathOf("escalateAfter"), "the last level has no next level to escalate to");
                }

                if (escalateAfter >= window)
                {
                    throw Error(at, f.PathOf("escalateAfter"), $"must be shorter than approvalWindow ({AccessDuration.Format(window)}), or the request times out first");
                }
            }

            string? slack = null, teams = null;
            var webhook = false;
            if (f.Get("notify") is { } notifyNode)
            {
                var n = Fields(notifyNode, f.PathOf("notify"), NotifyKeys);
                slack = Channel(n, "slackChannel");
                teams = Channel(n, "teamsChannel");
                webhook = OptionalBool(n, "webhook") ?? false;
            }

            return new ApprovalLevelRule
            {
                Approvers = approvers,
                MinApprovals = min,
                SlackChannel = slack,
                TeamsChannel = teams,
                Webhook = webhook,
                EscalateAfter = escalateAfter,
                PagerDutyEscalationPolicy = policy?.Text,
            };
        }

        private string? Channel(Map f, string key)
        {
            var value = OptionalString(f, key);
            if (value is not null && !ChannelRegex().IsMatch(value.Value.Text))
            {
                throw Error(value.Value.Node.Start, f.PathOf(key), "must be a channel id such as C0123ABCD or 19:abc@thread.tacv2");
            }

            return value?.Text;
        }

        // ---------- people ----------

        private string Requester(YamlNode node, string text, string path)
        {
            if (text.StartsWith("group:", StringComparison.Ordinal))
            {
                return GroupReference(node, text, path);
            }

            if (text.StartsWith("*@", StringComparison.Ordinal))
            {
                var domain = text[2..];
                if (!DomainRegex().IsMatch(domain))
                {
                    throw Error(node.Start, path, "'*@' must be followed by a domain such as example.com");
                }

                return "*@" + domain.ToLowerInvariant();
            }

            return Email(node, text, path, "must be an email, '*@domain' or 'group:<approverGroup>'");
        }

        private string Approver(YamlNode node, string text, string path) =>
            text.StartsWith("group:", StringComparison.Ordinal)
                ? GroupReference(node, text, path)
                : Email(node, text, path, "must be an email or 'group:<approverGroup>'");

        private string GroupReference(YamlNode node, string text, string path)
        {
            var name = text["group:".Length..];
            return groups.ContainsKey(name)
                ? text
                : throw Error(node.Start, path, $"'{Printable(name)}' is not a group under 'approverGroups'");
        }

        private string Email(YamlNode node, string text, string path, string problem = "must be an email") =>
            Grammar.IsEmail(text) ? Grammar.NormalizeEmail(text) : throw Error(node.Start, path, problem);

        private List<string> EmailList(Map f, string key) =>
            f.Get(key) is { } node ? Emails(node, f.PathOf(key)) : [];

        private List<string> Emails(YamlNode node, string path)
        {
            var result = new List<string>();
            foreach (var (item, text, itemPath) in Strings(node, path))
            {
                var email = Email(item, text, itemPath);
                if (!result.Contains(email))
                {
                    result.Add(email);
                }
            }

            return result;
        }

        // ---------- typed values ----------

        private Map Fields(YamlNode node, string path, string[] allowed)
        {
            var map = AsMapping(node, path);
            var result = new Map(path, map);
            foreach (var (keyNode, value) in map.Children)
            {
                var key = ((YamlScalarNode)keyNode).Value ?? "";
                if (!allowed.Contains(key, StringComparer.Ordinal))
                {
                    var near = allowed.FirstOrDefault(a => LooksLike(a, key));
                    var hint = near is null ? $"expected one of: {string.Join(", ", allowed)}" : $"did you mean '{near}'?";
                    throw Error(keyNode.Start, Join(path, key), $"unknown key; {hint}");
                }

                // A key written with no value ("admins:") means the same as leaving it out: the default.
                if (!IsNull(value))
                {
                    result.Values[key] = value;
                    result.Keys[key] = keyNode;
                }
            }

            return result;
        }

        private YamlMappingNode AsMapping(YamlNode node, string path) =>
            node as YamlMappingNode ?? throw Error(node.Start, Show(path), "must be a mapping of keys to values");

        private IEnumerable<(YamlNode Node, string Path)> Items(YamlNode node, string path)
        {
            if (node is not YamlSequenceNode seq)
            {
                throw Error(node.Start, path, "must be a list");
            }

            return seq.Children.Select((child, i) => (child, $"{path}[{i}]"));
        }

        private List<(YamlNode Node, string Text, string Path)> Strings(YamlNode node, string path)
        {
            var result = new List<(YamlNode, string, string)>();
            foreach (var (item, itemPath) in Items(node, path))
            {
                result.Add((item, ScalarText(item, itemPath), itemPath));
            }

            return result;
        }

        private List<(YamlNode Node, string Text, string Path)> OptionalList(Map f, string key) =>
            f.Get(key) is { } node ? Strings(node, f.PathOf(key)) : [];

        private List<(YamlNode Node, string Text, string Path)> RequiredList(Map f, string key)
        {
            var node = f.Get(key) ?? throw Error(f.Node.Start, f.PathOf(key), "is required and must not be empty");
            var list = Strings(node, f.PathOf(key));
            return list.Count > 0 ? list : throw Error(node.Start, f.PathOf(key), "must not be empty");
        }

        private string ScalarText(YamlNode node, string path)
        {
            if (node is not YamlScalarNode scalar || IsNull(node))
            {
                throw Error(node.Start, path, "must be a single text value");
            }

            var text = scalar.Value ?? "";
            return text.Length == 0 ? throw Error(node.Start, path, "must not be empty") : text;
        }

        private (YamlNode Node, string Text) RequiredString(Map f, string key)
        {
            var node = f.Get(key) ?? throw Error(f.Node.Start, f.PathOf(key), "is required");
            return (node, ScalarText(node, f.PathOf(key)));
        }

        private (YamlNode Node, string Text)? OptionalString(Map f, string key) =>
            f.Get(key) is { } node ? (node, ScalarText(node, f.PathOf(key))) : null;

        private bool? OptionalBool(Map f, string key)
        {
            if (OptionalString(f, key) is not var (node, text))
            {
                return null;
            }

            return text.ToLowerInvariant() switch
            {
                "true" => true,
                "false" => false,
                _ => throw Error(node.Start, f.PathOf(key), "must be true or false"),
            };
        }

        private int? OptionalWholeNumber(Map f, string key)
        {
            if (OptionalString(f, key) is not var (node, text))
            {
                return null;
            }

            return WholeNumberRegex().IsMatch(text)
                ? int.Parse(text, CultureInfo.InvariantCulture)
                : throw Error(node.Start, f.PathOf(key), "must be a whole number >= 1");
        }

        /// <summary>A whole number of at least 1 (a limit of 0 would refuse every request, or every extension).</summary>
        private int? OptionalPositive(Map f, string key)
        {
            var value = OptionalWholeNumber(f, key);
            return value is 0 ? throw Error(f.Get(key)!.Start, f.PathOf(key), "must be a whole number >= 1") : value;
        }

        private TimeSpan? OptionalDuration(Map f, string key)
        {
            if (OptionalString(f, key) is not var (node, text))
            {
                return null;
            }

            // ISO 8601 only in the file; years and months ("P1M") have no fixed length, so they are refused
            // rather than guessed. 'M' after 'T' is minutes and is fine.
            var datePart = text.Split('T')[0];
            if (!text.StartsWith('P') || datePart.Contains('Y') || datePart.Contains('M')
                || !AccessDuration.TryParse(text, out var duration))
            {
                throw Error(node.Start, f.PathOf(key), "must be a positive ISO 8601 duration such as PT30S, PT1H or P1D (no years or months)");
            }

            return duration <= MaxAnyDuration
                ? duration
                : throw Error(node.Start, f.PathOf(key), "must be at most P365D");
        }

        // ---------- errors ----------

        private RulesFileException Error(Mark at, string field, string problem) =>
            new(source, (int)at.Line, field, problem);

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

        /// <summary>A known key the unknown one is probably a typo of: same letters in another case, one a prefix of
        /// the other, or at most two edits apart.</summary>
        private static bool LooksLike(string known, string typed)
        {
            var a = known.ToLowerInvariant();
            var b = typed.ToLowerInvariant();
            if (b.Length == 0 || b.Length > 64)
            {
                return false;
            }

            if (a.StartsWith(b, StringComparison.Ordinal) || b.StartsWith(a, StringComparison.Ordinal))
            {
                return true;
            }

            var previous = Enumerable.Range(0, b.Length + 1).ToArray();
            for (var i = 1; i <= a.Length; i++)
            {
                var current = new int[b.Length + 1];
                current[0] = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                }

                previous = current;
            }

            return previous[b.Length] <= 2;
        }

        private static string Join(string path, string key) => path.Length == 0 ? Printable(key) : $"{path}.{Printable(key)}";

        private static string Show(string path) => path.Length == 0 ? "(root)" : path;

        /// <summary>Keys come from the file and end up in logs: keep them short and printable.</summary>
        private static string Printable(string text)
        {
            var sb = new StringBuilder();
            foreach (var c in text.Length > 64 ? text[..64] + "…" : text)
            {
                sb.Append(char.IsControl(c) ? '?' : c);
            }

            return sb.ToString();
        }
    }

    /// <summary>The non-null values of one mapping, by key, with the path they sit at.</summary>
    private sealed class Map(string path, YamlNode node)
    {
        public Dictionary<string, YamlNode> Values { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, YamlNode> Keys { get; } = new(StringComparer.Ordinal);

        /// <summary>Where a present key is written: errors about a whole value point there, since a block list or
        /// mapping value only starts on the next line.</summary>
        public Mark KeyStart(string key) => Keys[key].Start;

        /// <summary>The mapping itself: where a missing key is reported.</summary>
        public YamlNode Node { get; } = node;

        public YamlNode? Get(string key) => Values.GetValueOrDefault(key);

        public string PathOf(string key) => path.Length == 0 ? key : $"{path}.{key}";
    }
}

/// <summary>A rules file error, with where it is.</summary>
public sealed class RulesFileException : Exception
{
    public RulesFileException(string source, int line, string field, string problem)
        : base($"{source}:{line}: {field}: {problem}")
    {
        Source = source;
        Line = line;
        Field = field;
        Problem = problem;
    }

    public new string Source { get; }

    public int Line { get; }

    public string Field { get; }

    public string Problem { get; }
}
