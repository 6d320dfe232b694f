using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AccessWorkflows.Teams.Tests.Fakes;

/// <summary>
/// Stands in for the Teams Bot Connector service (<c>/v3/...</c>) and for the Entra token endpoint the bot gets its
/// outbound token from. Checks the bearer token on every connector call, keeps every version of every message,
/// and can be told to throttle (429 + Retry-After) or fail (502) the next calls.
/// </summary>
public sealed class FakeBotConnector : IAsyncDisposable
{
    public const string TenantId = "tenant-1";
    public const string AppId = "bot-app-id";
    public const string AppPassword = "bot-app-secret";

    private readonly ConcurrentDictionary<string, byte> _issuedTokens = new();
    private readonly ConcurrentQueue<(int Status, int? RetryAfterSeconds)> _failures = new();
    private readonly object _gate = new();
    private int _nextId;
    private int _tokenRequests;

    private FakeBotConnector(LoopbackServer server) => Server = server;

    public LoopbackServer Server { get; }

    /// <summary>The serviceUrl the fake channel puts in activities and tokens.</summary>
    public string ServiceUrl => Server.BaseAddress.ToString().TrimEnd('/');

    public string LoginBaseUrl => Server.BaseAddress + "login";

    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    /// <summary>Teams members by user id (the same in every conversation, as in one tenant).</summary>
    public ConcurrentDictionary<string, JsonObject> Members { get; } = new();

    public ConcurrentDictionary<string, string[]> TeamChannels { get; } = new();

    /// <summary>Every connector call as it arrived: method, path, status answered.</summary>
    public ConcurrentQueue<(string Method, string Path, int Status)> Calls { get; } = new();

    /// <summary>Messages by activity id: every version, oldest first (POST then each PUT).</summary>
    public Dictionary<string, List<JsonObject>> Messages { get; } = [];

    /// <summary>Which conversation each message was posted in.</summary>
    public Dictionary<string, string> MessageConversation { get; } = [];

    /// <summary>1:1 conversations created: conversation id → member id.</summary>
    public ConcurrentDictionary<string, string> CreatedConversations { get; } = new();

    public static async Task<FakeBotConnector> StartAsync()
    {
        FakeBotConnector? self = null;
        var server = await LoopbackServer.StartAsync(app =>
        {
            app.MapPost("/login/{tenant}/oauth2/v2.0/token", async (string tenant, HttpContext http) =>
            {
                Interlocked.Increment(ref self!._tokenRequests);
                var form = await http.Request.ReadFormAsync();
                if (tenant != TenantId || form["client_id"] != AppId || form["client_secret"] != AppPassword)
                {
                    return Results.Json(new { error = "invalid_client", error_description = "AADSTS7000215: Invalid client secret provided." }, statusCode: 401);
                }

                if (form["grant_type"] != "client_credentials" || form["scope"] != "https://api.botframework.com/.default")
                {
                    return Results.Json(new { error = "invalid_request" }, statusCode: 400);
                }

                var token = "fake-access-token-" + Guid.NewGuid().ToString("n");
                self._issuedTokens[token] = 0;
                return Results.Json(new { token_type = "Bearer", expires_in = 3599, ext_expires_in = 3599, access_token = token });
            });

            app.MapPost("/v3/conversations/{conversationId}/activities", (string conversationId, HttpContext http) =>
                self!.Guarded(http, async () =>
                {
                    var activity = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
                    var id = "1" + Interlocked.Increment(ref self._nextId).ToString("D12");
                    lock (self._gate)
                    {
                        self.Messages[id] = [activity];
                        self.MessageConversation[id] = conversationId;
                    }

                    return Results.Json(new { id }, statusCode: 201);
                }));

            app.MapPut("/v3/conversations/{conversationId}/activities/{activityId}", (string conversationId, string activityId, HttpContext http) =>
                self!.Guarded(http, async () =>
                {
                    var activity = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
                    lock (self._gate)
                    {
                        if (!self.Messages.TryGetValue(activityId, out var versions) || self.MessageConversation[activityId] != conversationId)
                        {
                            return Results.Json(new { error = new { code = "NotFound", message = "Activity not found" } }, statusCode: 404);
                        }

                        versions.Add(activity);
                    }

                    return Results.Json(new { id = activityId });
                }));

            app.MapPost("/v3/conversations", (Func<HttpContext, Task<IResult>>)(http =>
                self!.Guarded(http, async () =>
                {
                    var parameters = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
                    var member = parameters["members"]?[0]?["id"]?.GetValue<string>();
                    if (member is null || !self.Members.ContainsKey(member) || parameters["bot"]?["id"] is null)
                    {
                        return Results.Json(new { error = new { code = "BadArgument", message = "Invalid members" } }, statusCode: 400);
                    }

                    var id = "a:1on1-" + member;
                    self.CreatedConversations[id] = member;
                    return Results.Json(new { id }, statusCode: 201);
                })));

            app.MapGet("/v3/conversations/{conversationId}/members/{userId}", (string conversationId, string userId, HttpContext http) =>
                self!.Guarded(http, () => Task.FromResult(self.Members.TryGetValue(userId, out var m)
                    ? Results.Json(m)
                    : Results.Json(new { error = new { code = "MemberNotFoundInConversation", message = "The member is not in the conversation" } }, statusCode: 404))));

            app.MapGet("/v3/teams/{teamId}/conversations", (string teamId, HttpContext http) =>
                self!.Guarded(http, () => Task.FromResult(Results.Json(new JsonObject
                {
                    ["conversations"] = new JsonArray([.. (self.TeamChannels.TryGetValue(teamId, out var ids) ? ids : []).Select(id => (JsonNode)new JsonObject { ["id"] = id, ["name"] = id })]),
                }))));
        });
        self = new FakeBotConnector(server);
        return self;
    }

    /// <summary>The next <paramref name="count"/> connector calls answer <paramref name="status"/>.</summary>
    public void FailNext(int count, int status, int? retryAfterSeconds = null)
    {
        for (var i = 0; i < count; i++)
        {
            _failures.Enqueue((status, retryAfterSeconds));
        }
    }

    public void AddMember(string userId, string email, string aadObjectId, string? name = null) =>
        Members[userId] = new JsonObject
        {
            ["id"] = userId,
            ["name"] = name ?? email,
            ["aadObjectId"] = aadObjectId,
            ["email"] = email,
            ["userPrincipalName"] = email,
            ["tenantId"] = TenantId,
            ["userRole"] = "user",
        };

    public List<JsonObject> Versions(string activityId)
    {
        lock (_gate)
        {
            return Messages.TryGetValue(activityId, out var v) ? [.. v] : [];
        }
    }

    public List<(string Id, JsonObject Latest)> MessagesIn(string conversationId)
    {
        lock (_gate)
        {
            return [.. MessageConversation.Where(m => m.Value == conversationId).OrderBy(m => m.Key).Select(m => (m.Key, Messages[m.Key][^1]))];
        }
    }

    /// <summary>Every card any message ever carried (all versions).</summary>
    public List<JsonObject> AllCards()
    {
        lock (_gate)
        {
            return [.. Messages.Values.SelectMany(v => v).Select(Card).OfType<JsonObject>()];
        }
    }

    public static JsonObject? Card(JsonObject activity) => activity["attachments"]?[0]?["content"] as JsonObject;

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    private async Task<IResult> Guarded(HttpContext http, Func<Task<IResult>> handle)
    {
        var path = http.Request.Path.Value ?? string.Empty;
        var auth = http.Request.Headers.Authorization.ToString();
        if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_issuedTokens.ContainsKey(auth["Bearer ".Length..]))
        {
            Calls.Enqueue((http.Request.Method, path, 401));
            return Results.Json(new { message = "Authorization has been denied for this request." }, statusCode: 401);
        }

        if (_failures.TryDequeue(out var failure))
        {
            Calls.Enqueue((http.Request.Method, path, failure.Status));
            if (failure.RetryAfterSeconds is { } seconds)
            {
                http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Results.Json(new { error = new { code = failure.Status == 429 ? "TooManyRequests" : "ServiceError", message = "Try again later" } }, statusCode: failure.Status);
        }

        var result = await handle();
        Calls.Enqueue((http.Request.Method, path, (result as IStatusCodeHttpResult)?.StatusCode ?? 200));
        return result;
    }
}
