using AccessWorkflows.Requests;
using AccessWorkflows.Storage.Tables;
using AccessWorkflows.Storage.Tests.Contracts;
using AccessWorkflows.Testing;
using Azure;
using Azure.Core.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Storage.Tests.Tables;

/// <summary>What the table store does beyond the shared contracts: authentication, retries, keys the Table service
/// refuses, values larger than one property, stale index entries, configuration.</summary>
public sealed class TableAccessStoreTests
{
    private const string WrongKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

    [Theory]
    [InlineData(TableSharedKeyScheme.SharedKey)]
    [InlineData(TableSharedKeyScheme.SharedKeyLite)]
    public async Task Both_shared_key_schemes_are_accepted_with_the_account_key(TableSharedKeyScheme scheme)
    {
        var azurite = await Azurite.SharedAsync();
        var store = new TableAccessStore(new TableStoreOptions { ConnectionString = azurite.ConnectionString, TablePrefix = Azurite.NewTablePrefix(), SharedKeyScheme = scheme });

        await store.MarkDoneAsync("delivery-1");

        Assert.True(await store.IsDoneAsync("delivery-1"));
    }

    [Theory]
    [InlineData(TableSharedKeyScheme.SharedKey)]
    [InlineData(TableSharedKeyScheme.SharedKeyLite)]
    public async Task A_request_signed_with_the_wrong_key_is_refused_and_nothing_is_written(TableSharedKeyScheme scheme)
    {
        var azurite = await Azurite.SharedAsync();
        var prefix = Azurite.NewTablePrefix();
        var forged = new TableAccessStore(new TableStoreOptions { ConnectionString = azurite.ConnectionStringWithKey(WrongKey), TablePrefix = prefix, SharedKeyScheme = scheme });

        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => forged.MarkDoneAsync("delivery-1"));

        Assert.Equal(403, refused.Status);
        Assert.Equal("AuthorizationFailure", refused.ErrorCode);
        var genuine = new TableAccessStore(new TableStoreOptions { ConnectionString = azurite.ConnectionString, TablePrefix = prefix });
        Assert.False(await genuine.IsDoneAsync("delivery-1"));
    }

    [Fact]
    public async Task Server_busy_answers_are_retried_with_backoff()
    {
        var azurite = await Azurite.SharedAsync();
        var busyLeft = 2;
        await using var proxy = await LoopbackServer.StartAsync(app => app.Run(async context =>
        {
            if (Interlocked.Decrement(ref busyLeft) >= 0)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers["x-ms-error-code"] = "ServerBusy";
                return;
            }

            await ForwardAsync(context, azurite.TableEndpoint);
        }));
        var endpoint = new Uri(proxy.BaseAddress, Azurite.AccountName);
        var store = new TableAccessStore(new TableStoreOptions
        {
            ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={Azurite.AccountName};AccountKey={Azurite.AccountKey};TableEndpoint={endpoint};",
            TablePrefix = Azurite.NewTablePrefix(),
        });

        await store.MarkDoneAsync("after-two-503s");

        Assert.True(await store.IsDoneAsync("after-two-503s"));
        Assert.True(busyLeft < 0);
    }

    [Fact]
    public async Task Keys_with_characters_the_Table_service_forbids_round_trip_and_stay_distinct()
    {
        var store = await new AzuriteTables().OpenAsync();
        IMessageRefStore refs = store;
        IConversationStore conversations = store;
        string[] keys = ["a/b", "a%2Fb", "a#b?c", "it's", "a|b", "a\\b", "tab\tkey", "ünï/访问", "a%b"];

        foreach (var key in keys)
        {
            await store.MarkDoneAsync("done:" + key);
            await conversations.SaveAsync("user:" + key, $"{{\"k\":\"{key.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal)}\"}}");
            await refs.SaveAsync(new MessageRef("req/" + key, "slack", key, "approval", "C0123", key));
        }

        foreach (var key in keys)
        {
            Assert.True(await store.IsDoneAsync("done:" + key));
            Assert.Contains(key.Replace("\t", "\\t", StringComparison.Ordinal).Replace("\\b", "\\\\b", StringComparison.Ordinal), await conversations.GetAsync("user:" + key), StringComparison.Ordinal);
            Assert.Equal(key, Assert.Single(await refs.ListAsync("req/" + key, "slack")).MessageId);
        }

        Assert.False(await store.IsDoneAsync("done:a"));
        Assert.False(await store.IsDoneAsync("done:a/b/"));
    }

    [Fact]
    public async Task A_request_larger_than_one_table_property_round_trips()
    {
        var store = await new AzuriteTables().OpenAsync();
        var request = TestData.Pending("req-big");
        await store.TryCreateAsync(request);

        // 400 decisions with long comments: well over the 64 KiB a single string property holds.
        var comment = string.Concat(Enumerable.Repeat("approved after review 访问 🔐 ", 8));
        for (var batch = 0; batch < 4; batch++)
        {
            await store.UpdateAsync("req-big", r =>
            {
                for (var i = 0; i < 100; i++)
                {
                    r.Decisions.Add(new DecisionRecord($"d-{batch}-{i}", $"approver{i}@example.com", DecisionKind.Approve, null, comment, Channels.Api, 1, TestData.T0));
                }

                return true;
            });
        }

        var loaded = await store.GetAsync("req-big");

        Assert.Equal(400, loaded!.Decisions.Count);
        Assert.True(TestData.ToJson(loaded).Length > 128 * 1024);
        Assert.Equal(["req-big"], (await store.QueryAsync(new RequestQuery(Participant: "approver99@example.com"))).Items.Select(r => r.Id));
    }

    [Fact]
    public async Task An_index_entry_left_by_a_write_that_lost_its_race_is_not_listed()
    {
        var store = await new AzuriteTables().OpenAsync();
        await store.TryCreateAsync(TestData.Pending("req-1"));

        // The first run of this mutation adds a decision by an approver who is not yet a participant (so its index
        // entry is written before the primary), while another writer denies the request: the write loses with 412, and
        // the re-run refuses (a decision on a denied request). The index entry stays behind.
        var runs = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateAsync("req-1", r =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                Task.Run(() => store.UpdateAsync("req-1", other => other.End(RequestStatus.Denied, TestData.T0.AddMinutes(1), "lead@example.com", null))).GetAwaiter().GetResult();
            }

            return r.AddDecision(TestData.Decision("late", approver: "stranger@example.com"));
        }));

        Assert.Equal(2, runs);
        Assert.Empty((await store.QueryAsync(new RequestQuery(Participant: "stranger@example.com"))).Items);
        Assert.Empty((await store.QueryAsync(new RequestQuery(Status: RequestStatus.Pending))).Items);
        Assert.Equal(["req-1"], (await store.QueryAsync(new RequestQuery(Status: RequestStatus.Denied))).Items.Select(r => r.Id));
    }

    [Fact]
    public async Task Audit_events_stored_before_the_time_copy_existed_are_exported_once()
    {
        var azurite = await Azurite.SharedAsync();
        var prefix = Azurite.NewTablePrefix();
        var options = new TableStoreOptions { ConnectionString = azurite.ConnectionString, TablePrefix = prefix };
        var store = new TableAccessStore(options);
        await store.EnsureTablesAsync();

        // Two events as the previous version appended them: the request partition only, no AuditByTime copy.
        var parsed = TableConnectionString.Parse(azurite.ConnectionString);
        var raw = new TableRestClient(HttpPipelineBuilder.Build(new RawClientOptions(), new TableSharedKeyPolicy(parsed.AccountName, parsed.AccountKey, TableSharedKeyScheme.SharedKey)), parsed.TableEndpoint);
        var legacy = new[]
        {
            new AuditEvent("old-2", "req-old", TestData.T0.AddMinutes(1), "request.pending", "system", "system", null),
            new AuditEvent("old-1", "account:111122223333", TestData.T0, "reconcile.removed", "system", "system", "removed"),
        };
        var stamp = 1L;
        foreach (var e in legacy)
        {
            var entity = new TableEntity(TableKeys.Escape(e.RequestId), TableKeys.Escape(e.Id))
            {
                ["Id"] = e.Id,
                ["RequestId"] = e.RequestId,
                ["AtTicks"] = e.At.UtcTicks.ToString("D19", System.Globalization.CultureInfo.InvariantCulture),
                ["AtOffsetMinutes"] = "0",
                ["AppendStamp"] = (stamp++).ToString("D19", System.Globalization.CultureInfo.InvariantCulture),
                ["Type"] = e.Type,
                ["Actor"] = e.Actor,
                ["Channel"] = e.Channel,
            };
            EntityChunks.Write(entity, "Detail", e.Detail);
            Assert.Equal(TableWriteOutcome.Done, (await raw.InsertAsync(prefix + "Audit", entity, CancellationToken.None)).Outcome);
        }

        var fresh = new AuditEvent("new-1", "req-new", TestData.T0.AddMinutes(2), "request.created", "alice@example.com", "api", null);
        await store.AppendAsync(fresh);
        var range = new AuditQuery(TestData.T0, TestData.T0.AddHours(1));

        Assert.Equal([legacy[1], legacy[0], fresh], (await ((IAuditLog)store).QueryAsync(range)).Items);
        Assert.Equal([legacy[1], legacy[0], fresh], (await ((IAuditLog)new TableAccessStore(options)).QueryAsync(range)).Items);
    }

    [Fact]
    public async Task AddTableAccessStore_binds_the_connection_string_and_shares_one_store_across_the_ports()
    {
        var azurite = await Azurite.SharedAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AccessWorkflows:Tables:ConnectionString"] = azurite.ConnectionString,
            ["AccessWorkflows:Tables:TablePrefix"] = Azurite.NewTablePrefix(),
        }).Build();
        using var provider = new ServiceCollection().AddSqliteAccessStore(Path.Combine(Path.GetTempPath(), "unused.db")).AddTableAccessStore(configuration).BuildServiceProvider();

        var store = provider.GetRequiredService<TableAccessStore>();
        Assert.Same(store, provider.GetRequiredService<IRequestStore>());
        Assert.Same(store, provider.GetRequiredService<IAuditLog>());
        Assert.Same(store, provider.GetRequiredService<IGrantLedger>());
        Assert.Same(store, provider.GetRequiredService<ISandboxIamStore>());
        Assert.Same(store, provider.GetRequiredService<IMessageRefStore>());
        Assert.Same(store, provider.GetRequiredService<IConversationStore>());
        await store.EnsureTablesAsync();
    }

    [Fact]
    public void AddTableAccessStore_without_an_endpoint_refuses_to_start()
    {
        var configuration = new ConfigurationBuilder().Build();

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddTableAccessStore(configuration));

        Assert.Contains("AccessWorkflows:Tables:ServiceUri", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AccountName=acct;TableEndpoint=https://acct.table.core.windows.net", "AccountKey")]
    [InlineData("AccountKey=c2VjcmV0;TableEndpoint=https://acct.table.core.windows.net", "AccountName")]
    [InlineData("AccountName=acct;AccountKey=not*base64!", "base64")]
    [InlineData("garbage", "malformed")]
    public void A_bad_connection_string_is_refused_without_echoing_it(string connectionString, string expected)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => new TableAccessStore(new TableStoreOptions { ConnectionString = connectionString }));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not*base64!", error.Message, StringComparison.Ordinal);
    }

    private sealed class RawClientOptions : Azure.Core.ClientOptions
    {
    }

    private static async Task ForwardAsync(HttpContext context, Uri target)
    {
        using var client = new HttpClient();
        // The raw target, not Request.Path (which is unescaped): the signature covers the path exactly as sent.
        var rawTarget = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        var uri = new Uri($"{target.Scheme}://{target.Authority}{rawTarget}");
        using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), uri);
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        forward.Content = new ByteArrayContent(body.ToArray());
        foreach (var (name, values) in context.Request.Headers)
        {
            if (name is "Host" or "Content-Length" or "Transfer-Encoding")
            {
                continue;
            }

            if (!forward.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                forward.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        using var response = await client.SendAsync(forward);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (name is not ("Transfer-Encoding" or "Content-Length"))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body);
    }
}
