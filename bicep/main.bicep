// AccessWorkflows on Azure: the Functions app (Flex Consumption, .NET 10 isolated, Durable Functions) running as a
// user-assigned managed identity; storage reached by identity only; secrets in Key Vault (RBAC) referenced from app
// settings; Application Insights on Log Analytics; an Azure Bot with the Teams channel. Deploy with:
//   az deployment group create -g <resource group> -f bicep/main.bicep -p bicep/main.bicepparam
targetScope = 'resourceGroup'

@description('Short name of the deployment (letters and digits, 3-11): prefixes every resource name.')
@minLength(3)
@maxLength(11)
param baseName string

@description('Azure region of every resource (the bot is global).')
param location string = resourceGroup().location

@description('Tags applied to every resource.')
param tags object = {
  application: 'AccessWorkflows'
}

@description('Rules file, relative to the app root (the package ships access-rules.yaml; deploy your own in its place or point here).')
param rulesPath string = 'access-rules.yaml'

@description('OpenID authority that issues the bearer tokens of API callers, e.g. https://login.microsoftonline.com/<tenant>/v2.0.')
param authAuthority string

@description('Audience API callers\' tokens must carry, e.g. api://access-workflows.')
param authAudience string

@description('Externally visible base URL used in message links; empty means the app\'s own https://<host>.')
param publicBaseUrl string = ''

@description('Slack Web API base URL.')
param slackApiBaseUrl string = 'https://slack.com/api/'

@description('PagerDuty REST API base URL.')
param pagerDutyApiBaseUrl string = 'https://api.pagerduty.com'

@description('Where signed lifecycle events are POSTed; empty turns the outbound webhook off.')
param webhookUrl string = ''

@description('How the Teams bot authenticates: UserAssignedMSI (the app\'s identity, no secret) or SingleTenant (an app registration and teamsAppPassword).')
@allowed(['UserAssignedMSI', 'SingleTenant'])
param teamsAppType string = 'UserAssignedMSI'

@description('SingleTenant only: the bot app registration\'s client id.')
param teamsAppId string = ''

@description('Bot Framework OpenID metadata used to validate inbound Teams activities.')
param teamsOpenIdMetadataUrl string = 'https://login.botframework.com/v1/.well-known/openidconfiguration'

@description('AWS region for STS and regional calls (IAM is always signed for its partition\'s region).')
param awsRegion string = 'us-east-1'

@description('Names this deployment in the tags of the policies it generates; two deployments sharing an AWS account need different ids.')
param awsDeploymentId string = 'access-workflows'

@description('IAM path the provisioner may change users under (the provisioner role is generated for the same path).')
param awsUserPath string = '/'

@description('Optional key=value tag a user must carry for the provisioner to change it; empty: no tag condition.')
param awsUserTag string = ''

@description('Entra authority base for the Teams bot\'s outbound token (default: this cloud\'s login endpoint).')
param teamsLoginBaseUrl string = environment().authentication.loginEndpoint

@description('Slack signing secret (stored in Key Vault; empty leaves Slack off).')
@secure()
param slackSigningSecret string = ''

@description('Slack bot token xoxb-... (stored in Key Vault).')
@secure()
param slackBotToken string = ''

@description('SingleTenant only: the bot app registration\'s client secret (stored in Key Vault).')
@secure()
param teamsAppPassword string = ''

@description('PagerDuty REST API token (stored in Key Vault; empty turns on-call auto-approval off).')
@secure()
param pagerDutyApiToken string = ''

@description('Secret that signs webhook events out and verifies webhook decisions in (stored in Key Vault).')
@secure()
param webhookSecret string = ''

var suffix = uniqueString(resourceGroup().id, baseName)
var appName = '${baseName}-${suffix}'
var secretNames = {
  slackSigningSecret: 'slack-signing-secret'
  slackBotToken: 'slack-bot-token'
  teamsAppPassword: 'teams-app-password'
  pagerDutyApiToken: 'pagerduty-api-token'
  webhookSecret: 'webhook-secret'
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${baseName}-identity'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    baseName: baseName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('${toLower(baseName)}${suffix}', 24)
    location: location
    tags: tags
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: take('${baseName}kv${suffix}', 24)
    location: location
    tags: tags
    secrets: {
      '${secretNames.slackSigningSecret}': slackSigningSecret
      '${secretNames.slackBotToken}': slackBotToken
      '${secretNames.teamsAppPassword}': teamsAppPassword
      '${secretNames.pagerDutyApiToken}': pagerDutyApiToken
      '${secretNames.webhookSecret}': webhookSecret
    }
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  dependsOn: [roles]
  params: {
    name: appName
    location: location
    tags: tags
    identityId: identity.outputs.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
  }
}

var appUrl = 'https://${app.outputs.defaultHostName}'
var teamsBotAppId = teamsAppType == 'UserAssignedMSI' ? identity.outputs.clientId : teamsAppId

// A Key Vault reference for a secret that was given, '' (integration off) for one that was not.
func secretRef(vaultUri string, secretName string, value string) string =>
  empty(value) ? '' : '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${secretName}/)'

module settings 'modules/appsettings.bicep' = {
  name: 'appsettings'
  params: {
    functionAppName: app.outputs.name
    settings: {
      // Durable Functions host storage by identity (no connection string, no key).
      AzureWebJobsStorage__accountName: storage.outputs.name
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identity.outputs.clientId
      APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
      // DefaultAzureCredential (the table store) picks the user-assigned identity by this.
      AZURE_CLIENT_ID: identity.outputs.clientId
      AccessWorkflows__RulesPath: rulesPath
      AccessWorkflows__Storage: 'tables'
      AccessWorkflows__Tables__ServiceUri: storage.outputs.tableEndpoint
      AccessWorkflows__Auth__Mode: 'Jwt'
      AccessWorkflows__Auth__Authority: authAuthority
      AccessWorkflows__Auth__Audience: authAudience
      AccessWorkflows__PublicBaseUrl: empty(publicBaseUrl) ? appUrl : publicBaseUrl
      AccessWorkflows__Slack__SigningSecret: secretRef(vault.outputs.uri, secretNames.slackSigningSecret, slackSigningSecret)
      AccessWorkflows__Slack__BotToken: secretRef(vault.outputs.uri, secretNames.slackBotToken, slackBotToken)
      AccessWorkflows__Slack__ApiBaseUrl: slackApiBaseUrl
      AccessWorkflows__Teams__AppId: teamsBotAppId
      AccessWorkflows__Teams__AppPassword: secretRef(vault.outputs.uri, secretNames.teamsAppPassword, teamsAppPassword)
      AccessWorkflows__Teams__TenantId: tenant().tenantId
      AccessWorkflows__Teams__ManagedIdentityClientId: teamsAppType == 'UserAssignedMSI' ? identity.outputs.clientId : ''
      AccessWorkflows__Teams__OpenIdMetadataUrl: teamsOpenIdMetadataUrl
      AccessWorkflows__Teams__LoginBaseUrl: teamsLoginBaseUrl
      AccessWorkflows__PagerDuty__ApiToken: secretRef(vault.outputs.uri, secretNames.pagerDutyApiToken, pagerDutyApiToken)
      AccessWorkflows__PagerDuty__ApiBaseUrl: pagerDutyApiBaseUrl
      AccessWorkflows__Webhook__Url: webhookUrl
      AccessWorkflows__Webhook__Secret: secretRef(vault.outputs.uri, secretNames.webhookSecret, webhookSecret)
      // AWS: AssumeRoleWithWebIdentity with an Entra token of this identity; no AWS key anywhere.
      AccessWorkflows__Aws__Trust: 'azure'
      AccessWorkflows__Aws__ManagedIdentityClientId: identity.outputs.clientId
      AccessWorkflows__Aws__Region: awsRegion
      AccessWorkflows__Aws__DeploymentId: awsDeploymentId
      AccessWorkflows__Aws__UserPath: awsUserPath
      AccessWorkflows__Aws__UserTag: awsUserTag
    }
  }
}

module bot 'modules/bot.bicep' = {
  name: 'bot'
  params: {
    name: '${baseName}-bot-${suffix}'
    tags: tags
    messagingEndpoint: '${appUrl}/api/teams/messages'
    appType: teamsAppType
    appId: teamsBotAppId
    identityId: identity.outputs.id
  }
}

@description('The app\'s base URL (the API is under /api).')
output appUrl string = appUrl

@description('Principal (object) id of the app\'s managed identity.')
output identityPrincipalId string = identity.outputs.principalId

@description('Client id of the app\'s managed identity: the AWS install command takes it to trust this deployment.')
output identityClientId string = identity.outputs.clientId

@description('The Teams bot\'s messaging endpoint.')
output botMessagingEndpoint string = bot.outputs.messagingEndpoint
