using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage.Sqlite;
using AccessWorkflows.Webhook;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace AccessWorkflows.Server.Tests.Fuzz;

/// <summary>
/// SPEC 12, issue #11: every input is hostile. Ten thousand inputs, each a valid one mutated (method, path, query,
/// identity, headers, JSON and form bodies, sizes, chunking, signatures), across every route the server maps — the
/// route table is read from the running server, so a route added later is fuzzed too. Every answer must be below
/// 500, every error must be problem+json, and a refused input must not change anything: no request created or
/// changed, no audit event other than the record of the refusal, no orchestration started, no event raised.
/// </summary>
/// <remarks>
/// Reproducible: <c>AW_FUZZ_SEED</c> and <c>AW_FUZZ_INPUTS</c> set the seed and the number of inputs; a failure
/// names both and the inputs that broke. Orchestrations do not run (the engine client is a recorder), so every
/// write is caused by the input being answered and nothing changes in the background between inputs.
/// </remarks>
public sealed class HostileInputFuzzTests(ITestOutputHelper output)
{
    private const string SlackSecret = "fuzz-slack-signing-secret";
    private const string WebhookSecret = "fuzz-webhook-secret-0123456789abcdef";
    private const string Requester = "rhea@example.com";

    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

    private static readonly string[] Identities =
        [Requester, "carol@example.com", "erin@example.com", "secops@example.com", "audit@example.com", "eve@evil.example", "ida@example.com",
         "", "not an email", "CAROL@EXAMPLE.COM", "carol@example.com, secops@example.com", new string('a', 300) + "@example.com", "<script>@example.com"];

    // No "%00" in paths: the in-process test server refuses to carry one at all (Kestrel answers it with 400).
    private static readonly string[] PathGarbage =
        ["", "..", "%2e%2e", "a%2Fb", "ü", "' OR 1=1 --", "$(id)", "{id}", "%01", new string('x', 2000), "-1", "null", "000000000000000000000000000000000"];

    private static readonly string[] ContentTypes =
        ["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "application/xml", ""];

    [Fact]
    public async Task Ten_thousand_mutated_inputs_on_every_route_get_no_5xx_a_problem_for_every_error_and_change_nothing_when_refused()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("AW_FUZZ_SEED"), out var s) ? s : 20261123;
        var count = int.TryParse(Environment.GetEnvironmentVariable("AW_FUZZ_INPUTS"), out var n) ? n : 10_000;
        var probe = new StateProbe();
        using var server = new ServerFactory(settings: new Dictionary<string, string?>
        {
            ["AccessWorkflows:Slack:SigningSecret"] = SlackSecret,
            ["AccessWorkflows:Slack:BotToken"] = "xoxb-fuzz",
            ["AccessWorkflows:Slack:ApiBaseUrl"] = "http://127.0.0.1:9/api/", // nothing listens: Slack calls fail fast
            ["AccessWorkflows:Teams:AppId"] = "00000000-0000-0000-0000-00000000f022",
            ["AccessWorkflows:Teams:AppPassword"] = "fuzz",
            ["AccessWorkflows:Teams:TenantId"] = "00000000-0000-0000-0000-0000000000aa",
            ["AccessWorkflows:Teams:OpenIdMetadataUrl"] = "http://127.0.0.1:9/openid",
            ["AccessWorkflows:Teams:LoginBaseUrl"] = "http://127.0.0.1:9",
            ["AccessWorkflows:Webhook:Secret"] = WebhookSecret,
        })
        { TestServices = probe.Install };
        var client = server.CreateClient();
        var ids = await SeedRequestsAsync(server);
        var seeds = Seeds(server, ids);
        var random = new Random(seed);
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        var routesHit = new HashSet<string>();

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var template = seeds[random.Next(seeds.Count)];
            var input = Mutate(template, random, ids);
            routesHit.Add(template.Route);
            var before = probe.Writes;
            using var response = await client.SendAsync(input.ToMessage());
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            var problem = status >= 500 ? "5xx"
                : status >= 400 && input.Method != "HEAD" && mediaType != "application/problem+json" ? $"error without problem+json ({mediaType ?? "no content type"})"
                : status >= 300 && probe.Writes != before ? $"refused but changed state: {string.Join("; ", probe.Recent.TakeLast((int)(probe.Writes - before)))}"
                : null;
            if (problem is not null)
            {
                var body = await response.Content.ReadAsStringAsync();
                failures.Add($"#{i} {status} {problem}: {input.Describe()} → {Truncate(body, 300)}");
            }
        }

        clock.Stop();
        output.WriteLine($"{count} inputs (seed {seed}) over {routesHit.Count} routes in {clock.Elapsed.TotalSeconds:F1} s ({count / clock.Elapsed.TotalSeconds:F0}/s)");
        output.WriteLine("statuses: " + string.Join(", ", statuses.Select(kv => $"{kv.Key}×{kv.Value}")));
        foreach (var failure in failures.Take(40))
        {
            output.WriteLine(failure);
        }

        Assert.True(routesHit.Count == seeds.Select(t => t.Route).Distinct().Count(), $"every route is fuzzed; hit {routesHit.Count}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} inputs (seed {seed}) broke the contract; first: {string.Join(Environment.NewLine, failures.Take(10))}");
    }

    /// <summary>Requests to decide, relinquish and revoke on: one pending at level 1, one active, one denied.</summary>
    private static async Task<Targets> SeedRequestsAsync(ServerFactory server)
    {
        var store = server.Services.GetRequiredService<SqliteAccessStore>();
        var rules = server.Services.GetRequiredService<Rules.AccessRules>();
        async Task<string> SeedAsync(string id, Func<AccessRequest, bool> state)
        {
            var rule = rules.Rules.First(r => r.Name == "standard");
            await store.TryCreateAsync(new AccessRequest
            {
                Id = id,
                Requester = Requester,
                AccountId = Api.Account,
                Access = AccessSpec.Policy(Api.ReadOnly),
                Duration = TimeSpan.FromSeconds(30),
                Reason = "seeded for the fuzz test",
                RuleName = rule.Name,
                Approval = Rules.RuleMatcher.ResolvePlan(rules, rule),
                CreatedAt = DateTimeOffset.UtcNow,
            });
            await store.UpdateAsync(id, state);
            return id;
        }

        var now = DateTimeOffset.UtcNow;
        return new Targets(
            await SeedAsync("fuzzpending00000000000000000001", r => r.MarkPending(1)),
            await SeedAsync("fuzzactive000000000000000000001", r => r.MarkPending(1) & r.Approve(TimeSpan.FromSeconds(30), "carol@example.com") & r.Activate(now, now.AddHours(1))),
            await SeedAsync("fuzzdenied000000000000000000001", r => r.MarkPending(1) & r.End(RequestStatus.Denied, now, "dave@example.com", "no")));
    }

    /// <summary>One valid input per route and purpose; every route of the running server gets at least one.</summary>
    private static List<FuzzInput> Seeds(ServerFactory server, Targets ids)
    {
        var create = """{"accountId":"111122223333","access":{"type":"policy","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"},"duration":"PT30S","reason":"fuzz"}""";
        var onBehalf = """{"accountId":"111122223333","access":{"type":"policy","policyArn":"arn:aws:iam::aws:policy/job-function/SupportUser"},"onBehalfOf":"ida@example.com"}""";
        var group = """{"accountId":"111122223333","access":{"type":"group","groupName":"Developers"},"reason":"fuzz"}""";
        var resource = """{"accountId":"111122223333","access":{"type":"resource","resourceArn":"arn:aws:s3:::team-a","policyArn":"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"},"reason":"fuzz"}""";
        var decision = """{"decision":"approve","duration":"PT10S","comment":"ok"}""";
        var webhook = """{"id":"d-1","requestId":"PENDING","decision":"approve","approver":"carol@example.com","duration":"PT10S","comment":"ok"}""".Replace("PENDING", ids.Pending, StringComparison.Ordinal);
        var command = "token=t&team_id=T1&user_id=U1&user_name=rhea&command=%2Faccess&text=request+111122223333+ReadOnlyAccess+1h+because&response_url=https%3A%2F%2Fhooks.slack.com%2Fx&trigger_id=1.2.3";
        var blockAction = """{"type":"block_actions","user":{"id":"U1"},"trigger_id":"1.2","response_url":"https://hooks.slack.com/x","container":{"channel_id":"C1","message_ts":"1.1"},"actions":[{"action_id":"approve","value":"PENDING","action_ts":"1.3"}],"state":{"values":{"decide":{"duration":{"selected_option":{"value":"PT10S"}}}}}}""".Replace("PENDING", ids.Pending, StringComparison.Ordinal);
        var denySubmit = """{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"deny","private_metadata":"PENDING","state":{"values":{"comment":{"comment":{"value":"no"}}}}}}""".Replace("PENDING", ids.Pending, StringComparison.Ordinal);
        var requestSubmit = """{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"request","private_metadata":"","state":{"values":{"account":{"account":{"selected_option":{"value":"111122223333"}}},"duration":{"duration":{"value":"1h"}}}}}}""";
        var suggestion = """{"type":"block_suggestion","user":{"id":"U1"},"action_id":"policy","value":"Read","view":{"state":{"values":{"account":{"account":{"selected_option":{"value":"111122223333"}}}}}}}""";
        var teams = """{"type":"invoke","name":"adaptiveCard/action","id":"a1","channelId":"msteams","serviceUrl":"https://smba.trafficmanager.net/emea/","from":{"id":"29:1","aadObjectId":"00000000-0000-0000-0000-000000000001"},"conversation":{"id":"a:1","tenantId":"00000000-0000-0000-0000-0000000000aa"},"recipient":{"id":"28:bot"},"value":{"action":{"type":"Action.Execute","verb":"approve","data":{"requestId":"PENDING"}}}}""".Replace("PENDING", ids.Pending, StringComparison.Ordinal);
        var jwt = "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2FwaS5ib3RmcmFtZXdvcmsuY29tIiwiYXVkIjoiZnV6eiJ9.c2ln";

        var seeds = new List<FuzzInput>
        {
            Json("/api/requests", "POST", create, Requester),
            Json("/api/requests", "POST", onBehalf, Requester),
            Json("/api/requests", "POST", group, Requester),
            Json("/api/requests", "POST", resource, Requester),
            Json("/api/requests/{id}/decision", "POST", decision, "carol@example.com", ids.Pending),
            Json("/api/requests/{id}/decision", "POST", """{"decision":"deny","comment":"no"}""", "dave@example.com", ids.Active),
            Json("/api/requests/{id}/relinquish", "POST", "", Requester, ids.Active),
            Json("/api/requests/{id}/revoke", "POST", """{"comment":"incident"}""", "secops@example.com", ids.Active),
            Json("/api/requests/{id}/revoke", "POST", "", "secops@example.com", ids.Pending),
            Get("/api/requests?status=pending&mine=true&pageSize=5", Requester),
            Get($"/api/requests?requester={Requester}&continuationToken=abc", "audit@example.com"),
            Get("/api/requests/{id}", Requester, ids.Pending),
            Get("/api/requests/{id}/audit", "audit@example.com", ids.Denied),
            Get("/api/options?accountId=111122223333&type=policy&query=Read", Requester),
            Get($"/api/sandbox/accounts/111122223333/users/{Requester}", "secops@example.com"),
            Get("/api/health", null),
            Get("/", null),
            Signed(Json("/api/webhook/decisions", "POST", webhook, null), Signing.Webhook),
            Signed(Form("/api/slack/commands", command), Signing.Slack),
            Signed(Form("/api/slack/interactions", "payload=" + Uri.EscapeDataString(blockAction)), Signing.Slack),
            Signed(Form("/api/slack/interactions", "payload=" + Uri.EscapeDataString(denySubmit)), Signing.Slack),
            Signed(Form("/api/slack/interactions", "payload=" + Uri.EscapeDataString(requestSubmit)), Signing.Slack),
            Signed(Form("/api/slack/options", "payload=" + Uri.EscapeDataString(suggestion)), Signing.Slack),
            Json("/api/teams/messages", "POST", teams, null) with { Headers = [("Authorization", jwt)] },
        };

        // Every other route the server maps, with its own method and a small JSON body.
        var covered = seeds.Select(t => t.Route).ToHashSet();
        foreach (var endpoint in server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var route = "/" + endpoint.RoutePattern.RawText?.TrimStart('/');
            if (covered.Add(route))
            {
                var method = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is [var first, ..] ? first : "GET";
                var path = string.Join('/', route.Split('/').Select(part => part.StartsWith('{') ? (part.Contains("account", StringComparison.OrdinalIgnoreCase) ? Api.Account : ids.Active) : part));
                seeds.Add(new FuzzInput(route, method, path, "{}", "application/json", "secops@example.com", [], Signing.None, false));
            }
        }

        return seeds;

        FuzzInput Json(string route, string method, string body, string? user, string? id = null) =>
            new(route, method, id is null ? route : route.Replace("{id}", id, StringComparison.Ordinal), body, body.Length == 0 ? null : "application/json", user, [], Signing.None, false);

        FuzzInput Get(string path, string? user, string? id = null) =>
            new(path.Split('?')[0], "GET", id is null ? path : path.Replace("{id}", id, StringComparison.Ordinal), "", null, user, [], Signing.None, false);

        FuzzInput Form(string route, string body) => new(route, "POST", route, body, "application/x-www-form-urlencoded", null, [], Signing.None, false);

        static FuzzInput Signed(FuzzInput input, Signing signing) => input with { Signing = signing };
    }

    /// <summary>One to three mutations of a valid input.</summary>
    private static FuzzInput Mutate(FuzzInput input, Random random, Targets ids)
    {
        var mutations = random.Next(0, 4); // 0: the valid input itself, now and then
        for (var m = 0; m < mutations; m++)
        {
            input = random.Next(10) switch
            {
                0 => input with { Method = Methods[random.Next(Methods.Length)] },
                1 => input with { Path = MutatePath(input.Path, random, ids) },
                2 => input with { User = random.Next(4) == 0 ? null : Identities[random.Next(Identities.Length)] },
                3 => input with { ContentType = ContentTypes[random.Next(ContentTypes.Length)] },
                4 => input with { Headers = [.. input.Headers, RandomHeader(random)] },
                5 or 6 => input with { Body = MutateBody(input.Body, input.ContentType, random, ids) },
                7 => input with { Body = Resize(input.Body, random) },
                8 => input with { Chunked = !input.Chunked },
                _ => input with { Signing = input.Signing switch { Signing.None => random.Next(2) == 0 ? Signing.Slack : Signing.Webhook, _ => Signing.Broken } },
            };
        }

        return input;
    }

    private static string MutatePath(string path, Random random, Targets ids)
    {
        var (route, query) = path.IndexOf('?') is var q and >= 0 ? (path[..q], path[q..]) : (path, "");
        var parts = route.Split('/');
        switch (random.Next(5))
        {
            case 0:
                parts[random.Next(1, parts.Length)] = PathGarbage[random.Next(PathGarbage.Length)];
                break;
            case 1:
                parts[random.Next(1, parts.Length)] = random.Next(3) switch { 0 => ids.Pending, 1 => ids.Active, _ => ids.Denied };
                break;
            case 2:
                return route + "/" + PathGarbage[random.Next(PathGarbage.Length)] + query;
            case 3:
                query = "?" + string.Join('&', Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomQueryParameter(random)));
                break;
            default:
                query += (query.Length == 0 ? "?" : "&") + RandomQueryParameter(random);
                break;
        }

        return string.Join('/', parts) + query;
    }

    private static string RandomQueryParameter(Random random)
    {
        string[] names = ["status", "requester", "mine", "pageSize", "continuationToken", "accountId", "type", "query", "since", "until", "x"];
        string[] values = ["pending", "granted", "true", "0", "-5", "99999999999", "%FF", "%00", "%C3%28", "carol@example.com", "not-an-email", "policy", "root", new string('q', 500), "eyJ9", "2026-13-45"];
        return names[random.Next(names.Length)] + "=" + values[random.Next(values.Length)];
    }

    private static (string, string) RandomHeader(Random random) => random.Next(8) switch
    {
        0 => ("Authorization", random.Next(2) == 0 ? "Bearer " + new string('a', random.Next(1, 400)) : "Basic Og=="),
        1 => ("Idempotency-Key", new string('k', random.Next(1, 400))),
        2 => ("X-Slack-Request-Timestamp", random.Next(2) == 0 ? "not a number" : "99999999999999999999"),
        3 => ("X-Slack-Signature", "v0=" + new string('0', 64)),
        4 => (WebhookSignature.TimestampHeader, "-1"),
        5 => (WebhookSignature.SignatureHeader, "v1=zz"),
        6 => ("X-Dev-User", "secops@example.com"), // a second identity header
        _ => ("Accept", "application/xml"),
    };

    private static string MutateBody(string body, string? contentType, Random random, Targets ids)
    {
        if (contentType == "application/x-www-form-urlencoded" && body.Contains('=', StringComparison.Ordinal))
        {
            var pairs = body.Split('&').ToList();
            var at = random.Next(pairs.Count);
            var (key, value) = pairs[at].IndexOf('=') is var eq and >= 0 ? (pairs[at][..eq], Uri.UnescapeDataString(pairs[at][(eq + 1)..].Replace('+', ' '))) : (pairs[at], "");
            switch (random.Next(4))
            {
                case 0:
                    pairs.RemoveAt(at);
                    break;
                case 1:
                    pairs.Add(pairs[at]);
                    break;
                case 2:
                    pairs[at] = key + "=" + Uri.EscapeDataString(MutateJson(value, random, ids));
                    break;
                default:
                    pairs[at] = key + "=" + (random.Next(2) == 0 ? "%E0%A4%A" : "%");
                    break;
            }

            return string.Join('&', pairs);
        }

        return random.Next(4) == 0 ? MutateBytes(body, random) : MutateJson(body, random, ids);
    }

    /// <summary>Replaces, removes or adds one member anywhere in a JSON document; non-JSON gets byte mutations.</summary>
    private static string MutateJson(string text, Random random, Targets ids)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return MutateBytes(text, random);
        }

        if (root is null)
        {
            return "null";
        }

        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[random.Next(nodes.Count)];
        var replacement = RandomValue(random, ids);
        if (target.Parent is JsonObject parent)
        {
            var name = target.GetPropertyName();
            switch (random.Next(3))
            {
                case 0:
                    parent.Remove(name);
                    break;
                case 1:
                    parent[name] = replacement;
                    break;
                default:
                    parent[name + (random.Next(2) == 0 ? "" : "X")] = replacement;
                    break;
            }
        }
        else if (target.Parent is JsonArray array)
        {
            array[target.GetElementIndex()] = replacement;
        }
        else
        {
            return replacement?.ToJsonString() ?? "null";
        }

        return root.ToJsonString();

        static void Collect(JsonNode node, List<JsonNode> into)
        {
            into.Add(node);
            var children = node switch
            {
                JsonObject o => o.Select(kv => kv.Value),
                JsonArray a => a.AsEnumerable(),
                _ => [],
            };
            foreach (var child in children.OfType<JsonNode>())
            {
                Collect(child, into);
            }
        }
    }

    private static JsonNode? RandomValue(Random random, Targets ids) => random.Next(16) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(2) == 0 ? -1 : int.MaxValue),
        2 => JsonValue.Create(1e308),
        3 => JsonValue.Create(true),
        4 => JsonValue.Create(""),
        5 => JsonValue.Create(new string('z', random.Next(1001, 5000))),
        6 => Nest(random.Next(10, 200)),
        7 => new JsonObject { ["type"] = "root", ["value"] = new JsonArray(1, 2) },
        8 => new JsonArray("a", null, 3),
        9 => JsonValue.Create("\u0000\u202E\uD800"),
        10 => JsonValue.Create(new[] { "PT0S", "-PT1H", "P9999D", "PT1M", "1h", "forever" }[random.Next(6)]),
        11 => JsonValue.Create(new[] { "carol@example.com", "eve@evil.example", Requester, "not an email" }[random.Next(4)]),
        12 => JsonValue.Create(new[] { ids.Pending, ids.Active, ids.Denied, "../etc/passwd" }[random.Next(4)]),
        13 => JsonValue.Create(new[] { "approve", "deny", "APPROVE", "maybe" }[random.Next(4)]),
        14 => JsonValue.Create(new[] { "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/*", "arn:aws:s3:::*", "arn:aws:iam::111122223333:policy/x\"y" }[random.Next(4)]),
        _ => JsonValue.Create(new[] { "111122223333", "999988887777", "1111222233334", "block_actions", "view_submission", "block_suggestion", "invoke", "message" }[random.Next(8)]),
    };

    private static JsonNode Nest(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 0; i < depth; i++)
        {
            node = i % 2 == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        }

        return node;
    }

    private static string MutateBytes(string text, Random random)
    {
        var bytes = Encoding.UTF8.GetBytes(text).ToList();
        switch (random.Next(4))
        {
            case 0 when bytes.Count > 0:
                bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                break;
            case 1 when bytes.Count > 0:
                bytes.RemoveRange(random.Next(bytes.Count), bytes.Count - random.Next(bytes.Count) > 0 ? 1 : 0);
                return Encoding.UTF8.GetString([.. bytes.Take(random.Next(bytes.Count + 1))]);
            case 2:
                bytes.InsertRange(random.Next(bytes.Count + 1), [0xC3, 0x28, 0xFF]);
                break;
            default:
                return text + text;
        }

        return Encoding.Latin1.GetString([.. bytes]);
    }

    /// <summary>Just under the 64 KiB cap (still valid JSON), over it, or empty.</summary>
    private static string Resize(string body, Random random) => random.Next(3) switch
    {
        0 => body.Length is > 0 and < 64 * 1024 && body[0] == '{' ? "{" + new string(' ', (64 * 1024) - body.Length - 1) + body[1..] : body,
        1 => body + new string(' ', 70 * 1024),
        _ => "",
    };

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    private enum Signing
    {
        None,
        Slack,
        Webhook,
        Broken,
    }

    private sealed record Targets(string Pending, string Active, string Denied);

    private sealed record FuzzInput(
        string Route,
        string Method,
        string Path,
        string Body,
        string? ContentType,
        string? User,
        IReadOnlyList<(string Name, string Value)> Headers,
        Signing Signing,
        bool Chunked)
    {
        public HttpRequestMessage ToMessage()
        {
            // Absolute, so a path that starts with "//" stays a path and is not read as a host.
            var message = new HttpRequestMessage(new HttpMethod(Method), new Uri("http://localhost" + Path, UriKind.Absolute));
            // Byte mutations travel as Latin-1 strings (one char per byte); anything else is UTF-8 text.
            var bytes = Body.All(c => c <= 0xFF) ? Encoding.Latin1.GetBytes(Body) : Encoding.UTF8.GetBytes(Body);
            if (bytes.Length > 0 || ContentType is not null)
            {
                message.Content = Chunked ? new ErrorAnswerTests.ChunkedContent(bytes) : new ByteArrayContent(bytes);
                if (!string.IsNullOrEmpty(ContentType))
                {
                    message.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
                }
            }

            message.Headers.TransferEncodingChunked = Chunked && message.Content is not null;
            if (User is not null)
            {
                message.Headers.TryAddWithoutValidation("X-Dev-User", User);
            }

            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            switch (Signing)
            {
                case Signing.Slack:
                    var basis = Encoding.UTF8.GetBytes($"v0:{now}:").Concat(bytes).ToArray();
                    message.Headers.TryAddWithoutValidation("X-Slack-Request-Timestamp", now.ToString(CultureInfo.InvariantCulture));
                    message.Headers.TryAddWithoutValidation("X-Slack-Signature", "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(SlackSecret), basis)));
                    break;
                case Signing.Webhook:
                    message.Headers.TryAddWithoutValidation(WebhookSignature.TimestampHeader, now.ToString(CultureInfo.InvariantCulture));
                    message.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, WebhookSignature.Sign(WebhookSecret, now, bytes));
                    break;
                case Signing.Broken:
                    message.Headers.TryAddWithoutValidation("X-Slack-Request-Timestamp", (now - 3600).ToString(CultureInfo.InvariantCulture));
                    message.Headers.TryAddWithoutValidation("X-Slack-Signature", "v0=" + new string('a', 64));
                    message.Headers.TryAddWithoutValidation(WebhookSignature.TimestampHeader, now.ToString(CultureInfo.InvariantCulture));
                    message.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, "v1=" + new string('b', 64));
                    break;
            }

            foreach (var (name, value) in Headers)
            {
                if (!message.Headers.TryAddWithoutValidation(name, value))
                {
                    message.Content?.Headers.TryAddWithoutValidation(name, value);
                }
            }

            return message;
        }

        public string Describe() =>
            $"{Method} {Truncate(Path, 120)} as {User ?? "nobody"} [{ContentType}] {Signing}{(Chunked ? " chunked" : "")} headers=[{string.Join(", ", Headers.Select(h => h.Name))}] body={Truncate(Body, 200)}";
    }
}
