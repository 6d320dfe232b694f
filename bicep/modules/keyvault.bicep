@description('Key Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Secrets to store, name to value. Empty values are skipped (the integration stays off).')
@secure()
param secrets object

// RBAC authorization only: no access policies. The app's identity gets Key Vault Secrets User (roles.bicep).
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource secretResources 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for item in items(secrets): if (!empty(item.value)) {
  parent: vault
  name: item.key
  properties: {
    value: item.value
  }
}]

output name string = vault.name
output uri string = vault.properties.vaultUri
