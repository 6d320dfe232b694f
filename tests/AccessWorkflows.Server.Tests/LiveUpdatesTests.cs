using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AccessWorkflows.Server.Page;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// The page's event stream (<c>/console/events</c>): opened only with a single-use ticket got with the caller's own
/// credentials, and carrying only changes of requests the caller may read.
/// </summary>
public sealed class LiveUpdatesTests : IClassFixture<LiveUpdatesTests.Fixture>
{
    private readonly ServerFactory _server;

    public LiveUpdatesTests(Fixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task A_stream_needs_a_fresh_ticket_and_a_ticket_opens_one_stream_only()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.CreateClient().PostAsync("/console/events/ticket", null)).StatusCode);
        foreach (var url in new[] { "/console/events", "/console/events?ticket=guessed", $"/console/events?ticket={new string('a', 5000)}" })
        {
            var refused = await _server.CreateClient().GetAsync(url);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }

        var ticket = await TicketAsync("zoe@example.com");
        using (var stream = await OpenAsync(ticket))
        {
            Assert.Equal("ready", (await stream.NextAsync()).Event);
        }

        // The URL of a used ticket opens nothing, even while its 30 s have not passed.
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.CreateClient().GetAsync($"/console/events?ticket={ticket}")).StatusCode);
    }

    [Fact]
    public async Task A_stream_carries_the_changes_of_the_callers_requests_and_not_of_others()
    {
        using var stream = await OpenAsync(await TicketAsync("zoe@example.com"));
        Assert.Equal("ready", (await stream.NextAsync()).Event);

        // yann's request first: had it leaked to zoe, it would be the first change she reads.
        await Api.CreateAsync(_server.As("yann@example.com"), Api.PolicyRequest());
        var zoes = await Api.CreateAsync(_server.As("zoe@example.com"), Api.PolicyRequest());

        var change = await stream.NextAsync();
        Assert.Equal("change", change.Event);
        Assert.Equal(zoes.Id, change.Data.GetProperty("id").GetString());
        Assert.Equal("pending", change.Data.GetProperty("status").GetString());
        Assert.True(change.Data.GetProperty("version").GetInt64() > 1);
    }

    [Fact]
    public void A_ticket_expires_after_30_seconds()
    {
        var time = new SettableTime { Now = DateTimeOffset.Parse("2026-11-23T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture) };
        var tickets = new LiveTickets(time);
        var late = tickets.Issue("zoe@example.com");
        var onTime = tickets.Issue("zoe@example.com");
        Assert.NotEqual(late, onTime);
        Assert.Equal(43, late.Length); // 256 random bits, base64url

        time.Now += TimeSpan.FromSeconds(29);
        Assert.Equal("zoe@example.com", tickets.Redeem(onTime));
        time.Now += TimeSpan.FromSeconds(1);
        Assert.Null(tickets.Redeem(late));
    }

    private async Task<string> TicketAsync(string email)
    {
        var answer = await _server.As(email).PostAsync("/console/events/ticket", null);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("no-store", answer.Headers.CacheControl?.ToString());
        var json = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(30, json.GetProperty("expiresIn").GetInt32());
        return json.GetProperty("ticket").GetString()!;
    }

    private async Task<EventStream> OpenAsync(string ticket)
    {
        var client = _server.CreateClient();
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/console/events?ticket={ticket}"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new EventStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>Reads server-sent events as the browser does: fields up to a blank line, comments skipped.</summary>
    private sealed class EventStream(HttpResponseMessage response, StreamReader reader) : IDisposable
    {
        public async Task<(string Event, JsonElement Data)> NextAsync()
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string? name = null, data = null;
            while (await reader.ReadLineAsync(deadline.Token) is { } line)
            {
                if (line.Length == 0 && data is not null)
                {
                    return (name ?? "message", JsonDocument.Parse(data).RootElement);
                }

                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = line["data: ".Length..];
                }
            }

            throw new InvalidOperationException("The stream ended.");
        }

        public void Dispose()
        {
            reader.Dispose();
            response.Dispose();
        }
    }

    private sealed class SettableTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}
