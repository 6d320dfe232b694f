using AccessWorkflows.Testing;

namespace AccessWorkflows.Server.Tests;

/// <summary>The server's metrics on its Prometheus endpoint, fed by what really happens to requests. OpenTelemetry
/// listens to meters by name, so servers of other tests running at the same time would add to the counts: these run
/// alone.</summary>
[Collection(nameof(TelemetryTests))]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Requests_by_status_decisions_by_channel_provisioning_latency_and_revoke_lateness_are_scraped()
    {
        using var server = new ServerFactory();
        var ines = server.As("ines@example.com");
        var id = (await Api.CreatePendingAsync(ines, Api.PolicyRequest(duration: "PT2S"))).Id;
        (await Api.DecideAsync(server.As("carol@example.com"), id, "approve")).EnsureSuccessStatusCode();
        await Api.WaitForStatusAsync(ines, id, "expired");

        // The audit event (and so the count) is written just after the status the wait above saw.
        var scraper = server.CreateClient();
        var metrics = await Eventually.Until(
            () => scraper.GetStringAsync("/metrics"),
            m => m.Contains("accessworkflows_revoke_lateness_seconds_count", StringComparison.Ordinal),
            "the expiry is counted");
        Assert.Matches("accessworkflows_requests_total\\{[^}]*status=\"active\"[^}]*\\} 1", metrics);
        Assert.Matches("accessworkflows_requests_total\\{[^}]*status=\"expired\"[^}]*\\} 1", metrics);
        Assert.Matches("accessworkflows_decisions_total\\{[^}]*channel=\"api\"[^}]*outcome=\"approved\"[^}]*\\} 1", metrics);
        Assert.Matches("accessworkflows_provisioning_duration_seconds_count\\{[^}]*\\} 1", metrics);
        Assert.Matches("accessworkflows_revoke_lateness_seconds_count\\{[^}]*\\} 1", metrics);
        Assert.Contains("accessworkflows_engine_instances", metrics);
    }

    [Fact]
    public async Task The_scrape_endpoint_can_be_turned_off()
    {
        using var server = new ServerFactory(settings: new Dictionary<string, string?> { ["AccessWorkflows:Telemetry:Prometheus"] = "false" });
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await server.CreateClient().GetAsync("/metrics")).StatusCode);
    }
}

[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
public sealed class TelemetryCollection;
