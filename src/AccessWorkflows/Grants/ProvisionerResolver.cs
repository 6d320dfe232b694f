using AccessWorkflows.Grants.Sandbox;
using AccessWorkflows.Rules;

namespace AccessWorkflows.Grants;

/// <summary>The sandbox for <c>provider: sandbox</c> accounts; otherwise the registered AWS provisioner.</summary>
public sealed class ProvisionerResolver : IProvisionerResolver
{
    private readonly SandboxProvisioner _sandbox;
    private readonly IAccessProvisioner? _aws;

    /// <param name="aws">The real AWS provisioner, when the AWS integration is registered.</param>
    public ProvisionerResolver(SandboxProvisioner sandbox, IEnumerable<IAccessProvisioner> aws)
    {
        _sandbox = sandbox;
        _aws = aws.FirstOrDefault();
    }

    public IAccessProvisioner For(AccountConfig account) =>
        account.IsSandbox
            ? _sandbox
            : _aws ?? throw new PermanentProvisioningException($"Account {account.Id} is a real AWS account, and no AWS provider is configured.");
}
