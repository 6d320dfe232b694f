using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AccessWorkflows.Slack.Tests.Fakes;

/// <summary>One call the fake received: the method, its arguments (JSON or form, as JSON), and what it answered.</summary>
public sealed record SlackCall(string Method, JsonObject Args, int Status, string? Error);

/// <summary>
/// A local Slack Web API: checks the bearer token like Slack (<c>not_authed</c> / <c>invalid_auth</c>), keeps messages
/// by channel and ts so <c>chat.update</c> replaces them, knows users with profile emails, and answers
/// <c>429 ratelimited</c> with <c>Retry-After</c> when a test asks for it. Errors are HTTP 200 with
/// <c>ok: false</c>, as Slack sends them.
/// </summary>
public sealed class FakeSlackWebApi : IAsyncDisposable
{
    public const string BotToken = "xoxb-test-token";
    private readonly ConcurrentQueue<SlackCall> _calls = new();
    private readonly ConcurrentDictionary<string, (string Email, bool IsBot)> _users = new();
    private readonly ConcurrentDictionary<string, byte> _channels = new();
    private readonly ConcurrentDictionary<(string Channel, string Ts), JsonObject> _messages = new();
    private readonly ConcurrentDictionary<string, int> _rateLimits = new();
    private readonly ConcurrentDictionary<string, Hold> _holds = new();
    private readonly object _tsLock = new();
    private LoopbackServer? _server;
    private long _ts = 1_700_000_000_000_000;
    private int _views;

    public Uri BaseAddress => new(_server!.BaseAddress, "api/");

    public IReadOnlyList<SlackCall> Calls => [.. _calls];

    public int RetryAfterSeconds { get; set; } = 1;

    public static async Task<FakeSlackWebApi> StartAsync()
    {
        var fake = new FakeSlackWebApi();
        fake._server = await LoopbackServer.StartAsync(app => app.MapPost("/api/{method}", fake.HandleAsync));
        return fake;
    }

    public void AddUser(string id, string email, bool isBot = false) => _users[id] = (email, isBot);

    public void AddChannel(string id) => _channels[id] = 0;

    /// <summary>The next <paramref name="times"/> calls of <paramref name="method"/> answer 429 with Retry-After.</summary>
    public void RateLimit(string method, int times) => _rateLimits[method] = times;

    /// <summary>Holds the next <paramref name="count"/> calls of <paramref name="method"/> before answering them: the
    /// task returned completes when the last of them has arrived, and each is answered once <paramref name="release"/>
    /// completes.</summary>
    public Task HoldNext(string method, Task release, int count = 1)
    {
        var hold = new Hold(count, release);
        _holds[method] = hold;
        return hold.Reached.Task;
    }

    public IReadOnlyList<SlackCall> CallsOf(string method) => [.. _calls.Where(c => c.Method == method)];

    /// <summary>The message as it stands now (after every chat.update).</summary>
    public JsonObject? Message(string channel, string ts) => _messages.TryGetValue((channel, ts), out var m) ? m : null;

    /// <summary>Messages in a channel, oldest first.</summary>
    public IReadOnlyList<JsonObject> MessagesIn(string channel) =>
        [.. _messages.Where(kv => kv.Key.Channel == channel).OrderBy(kv => kv.Key.Ts, StringComparer.Ordinal).Select(kv => kv.Value)];

    public static string DmChannelOf(string userId) => "D" + userId;

    private async Task<IResult> HandleAsync(string method, HttpContext context)
    {
        if (_holds.TryGetValue(method, out var hold) && hold.TryTake(out var last))
        {
            if (last)
            {
                _holds.TryRemove(method, out _);
                hold.Reached.TrySetResult();
            }

            await hold.Release;
        }

        var args = await ReadArgsAsync(context.Request);
        var auth = context.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(auth))
        {
            return Answer(method, args, Error("not_authed"));
        }

        if (auth != "Bearer " + BotToken)
        {
            return Answer(method, args, Error("invalid_auth"));
        }

        if (_rateLimits.TryGetValue(method, out var left) && left > 0 && _rateLimits.TryUpdate(method, left - 1, left))
        {
            _calls.Enqueue(new SlackCall(method, args, 429, "ratelimited"));
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Results.Json(Error("ratelimited"), statusCode: 429);
        }

        return Answer(method, args, method switch
        {
            "views.open" => ViewsOpen(args),
            "chat.postMessage" => PostMessage(args),
            "chat.update" => Update(args),
            "chat.postEphemeral" => PostEphemeral(args),
            "conversations.open" => ConversationsOpen(args),
            "users.info" => UsersInfo(args),
            "users.lookupByEmail" => LookupByEmail(args),
            _ => Error("unknown_method"),
        });
    }

    private IResult Answer(string method, JsonObject args, JsonObject answer)
    {
        _calls.Enqueue(new SlackCall(method, args, 200, answer["ok"]!.GetValue<bool>() ? null : answer["error"]!.GetValue<string>()));
        return Results.Json(answer);
    }

    private JsonObject ViewsOpen(JsonObject args)
    {
        if (args["trigger_id"] is null)
        {
            return Error("invalid_arguments");
        }

        if (args["view"] is not JsonObject view || view["type"]?.GetValue<string>() != "modal" || view["blocks"] is not JsonArray { Count: <= 100 })
        {
            return Error("invalid_arguments");
        }

        var id = "V" + Interlocked.Increment(ref _views).ToString("D6", CultureInfo.InvariantCulture);
        var opened = view.DeepClone().AsObject();
        opened["id"] = id;
        return Ok(new JsonObject { ["view"] = opened });
    }

    private JsonObject PostMessage(JsonObject args)
    {
        var channel = args["channel"]?.GetValue<string>();
        if (channel is null || !_channels.ContainsKey(channel))
        {
            return Error("channel_not_found");
        }

        if (args["text"] is null && args["blocks"] is null)
        {
            return Error("no_text");
        }

        var ts = NextTs();
        _messages[(channel, ts)] = new JsonObject { ["text"] = args["text"]?.DeepClone(), ["blocks"] = args["blocks"]?.DeepClone(), ["ts"] = ts };
        return Ok(new JsonObject { ["channel"] = channel, ["ts"] = ts, ["message"] = new JsonObject { ["text"] = args["text"]?.DeepClone() } });
    }

    private JsonObject Update(JsonObject args)
    {
        var channel = args["channel"]?.GetValue<string>() ?? string.Empty;
        var ts = args["ts"]?.GetValue<string>() ?? string.Empty;
        if (!_channels.ContainsKey(channel))
        {
            return Error("channel_not_found");
        }

        if (!_messages.ContainsKey((channel, ts)))
        {
            return Error("message_not_found");
        }

        _messages[(channel, ts)] = new JsonObject { ["text"] = args["text"]?.DeepClone(), ["blocks"] = args["blocks"]?.DeepClone(), ["ts"] = ts };
        return Ok(new JsonObject { ["channel"] = channel, ["ts"] = ts, ["text"] = args["text"]?.DeepClone() });
    }

    private JsonObject PostEphemeral(JsonObject args)
    {
        var channel = args["channel"]?.GetValue<string>();
        if (channel is null || !_channels.ContainsKey(channel))
        {
            return Error("channel_not_found");
        }

        if (args["user"]?.GetValue<string>() is not { } user || !_users.ContainsKey(user))
        {
            return Error("user_not_found");
        }

        return Ok(new JsonObject { ["message_ts"] = NextTs() });
    }

    private JsonObject ConversationsOpen(JsonObject args)
    {
        var user = args["users"]?.GetValue<string>();
        if (user is null || !_users.ContainsKey(user))
        {
            return Error("user_not_found");
        }

        var id = DmChannelOf(user);
        _channels[id] = 0;
        return Ok(new JsonObject { ["channel"] = new JsonObject { ["id"] = id } });
    }

    private JsonObject UsersInfo(JsonObject args)
    {
        var id = args["user"]?.GetValue<string>();
        return id is not null && _users.TryGetValue(id, out var u) ? Ok(new JsonObject { ["user"] = UserJson(id, u.Email, u.IsBot) }) : Error("user_not_found");
    }

    private JsonObject LookupByEmail(JsonObject args)
    {
        var email = args["email"]?.GetValue<string>();
        var hit = _users.FirstOrDefault(kv => string.Equals(kv.Value.Email, email, StringComparison.OrdinalIgnoreCase));
        return hit.Key is null ? Error("users_not_found") : Ok(new JsonObject { ["user"] = UserJson(hit.Key, hit.Value.Email, hit.Value.IsBot) });
    }

    private static JsonObject UserJson(string id, string email, bool isBot) => new()
    {
        ["id"] = id,
        ["team_id"] = "T0TEAM",
        ["name"] = email.Split('@')[0],
        ["deleted"] = false,
        ["is_bot"] = isBot,
        ["profile"] = new JsonObject { ["email"] = email, ["real_name"] = email.Split('@')[0] },
    };

    private string NextTs()
    {
        lock (_tsLock)
        {
            _ts++;
            return (_ts / 1_000_000).ToString(CultureInfo.InvariantCulture) + "." + (_ts % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
        }
    }

    private static async Task<JsonObject> ReadArgsAsync(HttpRequest request)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            var o = new JsonObject();
            foreach (var (k, v) in form)
            {
                o[k] = v.ToString();
            }

            return o;
        }

        return await request.ReadFromJsonAsync<JsonObject>() ?? [];
    }

    private static JsonObject Ok(JsonObject extra)
    {
        extra["ok"] = true;
        return extra;
    }

    private static JsonObject Error(string error) => new() { ["ok"] = false, ["error"] = error };

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private sealed class Hold(int count, Task release)
    {
        private int _left = count;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Release { get; } = release;

        /// <summary>Counts one held call; false once the hold has taken its count.</summary>
        public bool TryTake(out bool last)
        {
            var left = Interlocked.Decrement(ref _left);
            last = left == 0;
            return left >= 0;
        }
    }
}
