using System.Text.Json;
using AccessWorkflows.Functions.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Functions.Tests;

/// <summary>The app composed exactly from <c>local.settings.sample.json</c> (as the Functions host turns its Values into
/// environment variables) can create every class that declares a function, as the worker's activator does.</summary>
public sealed class CompositionTests
{
    [Fact]
    public void The_sample_settings_compose_an_app_that_resolves_every_function_class()
    {
        var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Value.GetString());
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddAccessWorkflowsFunctions(configuration, new DevelopmentEnvironment());
        using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });

        var classes = FunctionIndex.Functions().Select(f => f.Method.DeclaringType!).Distinct().ToList();
        Assert.Contains(typeof(Functions.WorkflowFunctions), classes);
        Assert.Contains(typeof(Functions.TimerFunctions), classes);
        foreach (var type in classes.Where(t => !(t.IsAbstract && t.IsSealed)))
        {
            Assert.NotNull(ActivatorUtilities.CreateInstance(provider, type));
        }

        Assert.NotNull(provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<WorkerOptions>>().Value.Serializer);
    }
}
