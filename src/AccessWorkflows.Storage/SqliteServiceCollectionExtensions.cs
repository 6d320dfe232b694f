using AccessWorkflows.Storage;
using AccessWorkflows.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class SqliteServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="SqliteAccessStore"/> on <paramref name="databasePath"/> (opened on first resolve) as
    /// itself and as every storage port: <see cref="IRequestStore"/>, <see cref="IAuditLog"/>, <see cref="IGrantLedger"/>,
    /// <see cref="ISandboxIamStore"/>, <see cref="IMessageRefStore"/>, <see cref="IConversationStore"/>. Replaces any
    /// earlier registration of those services, so the six always share one store.
    /// </summary>
    public static IServiceCollection AddSqliteAccessStore(this IServiceCollection services, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        services.Replace(ServiceDescriptor.Singleton(_ => new SqliteAccessStore(databasePath)));

        // Forwarders, not new instances. The container disposes each factory result it tracks; the store's Dispose
        // is idempotent, so disposing the one instance several times is harmless.
        services.Replace(ServiceDescriptor.Singleton<IRequestStore>(sp => sp.GetRequiredService<SqliteAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<IAuditLog>(sp => sp.GetRequiredService<SqliteAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<IGrantLedger>(sp => sp.GetRequiredService<SqliteAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<ISandboxIamStore>(sp => sp.GetRequiredService<SqliteAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<IMessageRefStore>(sp => sp.GetRequiredService<SqliteAccessStore>()));
        services.Replace(ServiceDescriptor.Singleton<IConversationStore>(sp => sp.GetRequiredService<SqliteAccessStore>()));
        return services;
    }
}
