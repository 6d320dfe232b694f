using System.Collections.Immutable;
using System.Text.Json;
using AccessWorkflows.Workflow;
using Microsoft.Azure.Functions.Worker.Core.FunctionMetadata;

namespace AccessWorkflows.Functions.Tests;

/// <summary>
/// The function metadata the Functions host indexes, as the worker SDK's source generator emits it for this app
/// (<c>GeneratedFunctionMetadataProvider</c>): what the host registers is what the workflow and the routes expect.
/// </summary>
public sealed class FunctionMetadataTests
{
    [Fact]
    public async Task Function_names_are_unique_and_the_workflow_names_are_all_there_with_the_right_triggers()
    {
        var functions = await GeneratedMetadataAsync();

        var names = functions.Select(f => f.Name!).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());

        Assert.Equal("orchestrationTrigger", TriggerOf(functions, WorkflowNames.Orchestrator).GetProperty("type").GetString());
        foreach (var activity in new[]
                 {
                     WorkflowNames.ApplyChangeActivity, WorkflowNames.DeliverActivity, WorkflowNames.CheckOnCallActivity,
                     WorkflowNames.ProvisionActivity, WorkflowNames.DeprovisionActivity, WorkflowNames.ExtendGrantActivity, WorkflowNames.ResolveOnCallRespondersActivity, WorkflowNames.CollectActivityActivity,
                 })
        {
            Assert.Equal("activityTrigger", TriggerOf(functions, activity).GetProperty("type").GetString());
        }

        // Every orchestration or activity trigger in the app is one the workflow calls: nothing registered twice.
        var durable = functions.Where(f => Bindings(f).Any(b => b.GetProperty("type").GetString() is "orchestrationTrigger" or "activityTrigger"))
            .Select(f => f.Name).Order().ToList();
        Assert.Equal(
            new[]
            {
                WorkflowNames.Orchestrator, WorkflowNames.ApplyChangeActivity, WorkflowNames.DeliverActivity, WorkflowNames.CheckOnCallActivity,
                WorkflowNames.ProvisionActivity, WorkflowNames.DeprovisionActivity, WorkflowNames.ExtendGrantActivity, WorkflowNames.ResolveOnCallRespondersActivity, WorkflowNames.CollectActivityActivity,
            }.Order(),
            durable);
    }

    [Fact]
    public async Task Http_routes_are_unique_per_method_and_stay_out_of_the_hosts_reserved_prefixes()
    {
        var functions = await GeneratedMetadataAsync();
        var routes = (
            from f in functions
            from b in Bindings(f)
            where b.GetProperty("type").GetString() == "httpTrigger"
            from method in b.GetProperty("methods").EnumerateArray()
            select (Method: method.GetString()!.ToUpperInvariant(), Route: b.GetProperty("route").GetString()!, Auth: b.GetProperty("authLevel").GetString())).ToList();

        Assert.NotEmpty(routes);
        Assert.Equal(routes.Count, routes.Select(r => (r.Method, r.Route.ToLowerInvariant())).Distinct().Count());
        Assert.All(routes, r =>
        {
            Assert.False(r.Route.StartsWith("admin/", StringComparison.OrdinalIgnoreCase), r.Route);
            Assert.False(r.Route.StartsWith("runtime/", StringComparison.OrdinalIgnoreCase), r.Route);
            Assert.Equal("Anonymous", r.Auth); // every handler authenticates its caller itself (HttpFunctions' remarks)
        });
        Assert.Contains(("POST", "requests/{id}/decision", "Anonymous"), routes);
        Assert.Contains(("POST", "slack/interactions", "Anonymous"), routes);
    }

    internal static async Task<ImmutableArray<IFunctionMetadata>> GeneratedMetadataAsync()
    {
        var type = FunctionIndex.App.GetTypes().SingleOrDefault(t => t.Name == "GeneratedFunctionMetadataProvider")
            ?? throw new InvalidOperationException("The worker SDK's source generator emitted no GeneratedFunctionMetadataProvider in the app.");
        var provider = (IFunctionMetadataProvider)Activator.CreateInstance(type)!;
        return await provider.GetFunctionMetadataAsync(AppContext.BaseDirectory);
    }

    private static IEnumerable<JsonElement> Bindings(IFunctionMetadata function) =>
        (function.RawBindings ?? []).Select(raw => JsonDocument.Parse(raw).RootElement);

    private static JsonElement TriggerOf(ImmutableArray<IFunctionMetadata> functions, string name) =>
        Bindings(Assert.Single(functions, f => f.Name == name)).Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
}
