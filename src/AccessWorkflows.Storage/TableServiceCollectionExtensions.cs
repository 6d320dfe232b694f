using AccessWorkflows.Storage;
using AccessWorkflows.Storage.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class TableServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="TableAccessStore"/> from <c>AccessWorkflows:Tables:*</c> (SPEC 11): <c>ServiceUri</c>
    /// (Entra: the managed identity, or whatever <c>DefaultAzureCredential</c> finds) or <c>ConnectionString</c>
    /// (account key), plus the optional <c>TablePrefix</c>. Throws when neither is set: a deployment that asked for
    /// tables must not quietly store nothing.
    /// </summary>
    public static IServiceCollection AddTableAccessStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection("AccessWorkflows:Tables");
        var options = new TableStoreOptions
        {
            ServiceUri = section["ServiceUri"] is { Length: > 0 } uri ? new Uri(uri) : null,
            ConnectionString = section["ConnectionString"] is { Length: > 0 } connectionString ? connectionString : null,
        };
        if (section["TablePrefix"] is { Length: > 0 } prefix)
        {
            options.TablePrefix = prefix;
        }

        if (options.ServiceUri is null && options.ConnectionString is null)
        {
            throw new InvalidOperationException("AccessWorkflows:Storage is tables but neither AccessWorkflows:Tables:ServiceUri nor AccessWorkflows:Tables:ConnectionString is set.");
        }

        return services.AddTableAccessStore(options);
    }

    /// <summary>
    /// Registers one <see cref="TableAccessStore"/> on <paramref name="options"/> (created on first resolve) as itself
    /// and as every storage port, replacing any earlier registration of them, so the six always share one store.
    /// </summary>
    public static IServiceCollection AddTableAccessStore(this IServiceCollection services, TableStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.Replace(ServiceDescriptor.Singleton(_ => new TableAccessStore(options)));
        services.Replace(ServiceDescriptor.Singleton<IRequestStore>(sp => sp.GetRequiredService<TableAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<IAuditLog>(sp => sp.GetRequiredService<TableAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<IGrantLedger>(sp => sp.GetRequiredService<TableAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<ISandboxIamStore>(sp => sp.GetRequiredService<TableAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<IMessageRefStore>(sp => sp.GetRequiredService<TableAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<IConversationStore>(sp => sp.GetRequiredService<TableAccessStore>()));
        return services;
    }
}
