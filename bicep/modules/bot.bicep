@description('Azure Bot resource name.')
param name string

@description('Tags applied to every resource.')
param tags object

@description('HTTPS messaging endpoint: https://<app host>/api/teams/messages.')
param messagingEndpoint string

@description('UserAssignedMSI: the bot authenticates as the app\'s managed identity (no password). SingleTenant: an Entra app registration with a client secret.')
@allowed(['UserAssignedMSI', 'SingleTenant'])
param appType string

@description('The bot\'s Microsoft App ID: the managed identity\'s client id (UserAssignedMSI) or the app registration\'s (SingleTenant).')
param appId string

@description('Resource id of the managed identity (UserAssignedMSI only).')
param identityId string = ''

@description('Pricing tier of the bot (F0 free, S1 standard).')
@allowed(['F0', 'S1'])
param sku string = 'S1'

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: name
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: {
    name: sku
  }
  properties: {
    displayName: 'AccessWorkflows'
    endpoint: messagingEndpoint
    msaAppId: appId
    msaAppType: appType
    msaAppTenantId: tenant().tenantId
    msaAppMSIResourceId: appType == 'UserAssignedMSI' ? identityId : null
    disableLocalAuth: false
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

output messagingEndpoint string = bot.properties.endpoint
