using AccessWorkflows.Aws.Activity;
using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.IdentityCenter;
using AccessWorkflows.Aws.Policies;
using AccessWorkflows.Aws.Reconciliation;
using AccessWorkflows.Grants;
using AccessWorkflows.Grants.Activity;
using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Aws;

public static class AwsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the real AWS provider: <see cref="AwsProvisioner"/>, <see cref="AwsAccessCatalog"/>,
    /// the IAM client factory and the per-account credential provider, configured from
    /// <c>AccessWorkflows:Aws:*</c> (<see cref="AwsOptions"/>) and the AWS SDKs' endpoint variables
    /// (<c>AWS_ENDPOINT_URL_IAM</c>, <c>AWS_ENDPOINT_URL_STS</c>, <c>AWS_ENDPOINT_URL_SSO_ADMIN</c>,
    /// <c>AWS_ENDPOINT_URL_IDENTITYSTORE</c>, <c>AWS_ENDPOINT_URL_CLOUDTRAIL</c>, <c>AWS_ENDPOINT_URL</c>), read from configuration
    /// first and then the environment. Nothing contacts AWS until an AWS account is used, so registering it in a
    /// sandbox-only deployment costs nothing. <see cref="AwsAccessCatalog"/> is the <see cref="IAccessCatalog"/>,
    /// which the core's <c>AccessOptions</c> consults for real accounts only.
    /// </summary>
    public static IServiceCollection AddAws(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new AwsOptions();
        configuration.GetSection(AwsOptions.Section).Bind(options);
        if (options.Trust is not (TrustModes.Chain or TrustModes.Azure))
        {
            throw new InvalidOperationException($"{AwsOptions.Section}:Trust must be '{TrustModes.Chain}' or '{TrustModes.Azure}'.");
        }

        options.Validate();
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new AwsEndpoints(name => configuration[name] ?? Environment.GetEnvironmentVariable(name)));
        services.TryAddSingleton<IAwsBaseCredentials, DefaultChainCredentials>();
        if (options.Trust == TrustModes.Azure)
        {
            services.TryAddSingleton<IWebIdentityTokenSource>(_ =>
            {
                TokenCredential credential = string.IsNullOrEmpty(options.ManagedIdentityClientId)
                    ? new DefaultAzureCredential()
                    : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(options.ManagedIdentityClientId));
                return new AzureWebIdentityTokenSource(credential, options.AzureTokenScope);
            });
        }

        services.TryAddSingleton<IAwsCredentialProvider>(sp => new AccountCredentialProvider(
            sp.GetRequiredService<AwsOptions>(),
            sp.GetRequiredService<AwsEndpoints>(),
            sp.GetRequiredService<IAwsBaseCredentials>(),
            sp.GetService<IWebIdentityTokenSource>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AccountCredentialProvider>>()));
        services.AddHttpClient(IamClientFactory.HttpClientName, client =>
        {
            client.Timeout = TimeSpan.FromSeconds(30);
            client.MaxResponseContentBufferSize = 16 * 1024 * 1024;
        });
        services.TryAddSingleton<IIamClientFactory, IamClientFactory>();
        services.AddHttpClient(PermissionSetAssignments.SsoAdminHttpClient, client =>
        {
            client.Timeout = TimeSpan.FromSeconds(30);
            client.MaxResponseContentBufferSize = 16 * 1024 * 1024;
        });
        services.TryAddSingleton<PermissionSetAssignments>();
        services.AddHttpClient(CloudTrailActivitySource.HttpClientName, client =>
        {
            client.Timeout = TimeSpan.FromSeconds(30);
            client.MaxResponseContentBufferSize = 16 * 1024 * 1024;
        });
        services.TryAddSingleton<CloudTrailActivitySource>();

        // The core's ActivityCollector reads CloudTrail for real accounts; sandboxes have none.
        services.AddSingleton<IActivitySource>(sp => sp.GetRequiredService<CloudTrailActivitySource>());
        services.TryAddSingleton(AwsActionData.Shipped);
        services.TryAddSingleton<ResourcePolicyGenerator>();
        services.TryAddSingleton<IamUserResolver>();
        services.TryAddSingleton<AwsProvisioner>();

        // The core's ProvisionerResolver takes the registered IAccessProvisioner for accounts that are not sandboxes.
        services.AddSingleton<IAccessProvisioner>(sp => sp.GetRequiredService<AwsProvisioner>());
        services.TryAddSingleton<AwsAccessCatalog>();

        // The core's AccessOptions asks the catalog for real accounts only; sandbox accounts never reach IAM.
        services.AddSingleton<IAccessCatalog>(sp => sp.GetRequiredService<AwsAccessCatalog>());
        services.AddHostedService<AwsReconciliationService>();
        return services;
    }
}
