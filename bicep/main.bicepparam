using './main.bicep'

// Non-secret settings of one deployment. Secrets come from the environment of whoever deploys, so they never land
// in a file: export SLACK_SIGNING_SECRET=... (and the others) before `az deployment group create`.
param baseName = 'accessflow'
param authAuthority = 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0'
param authAudience = 'api://access-workflows'
param rulesPath = 'access-rules.yaml'
param publicBaseUrl = ''
param webhookUrl = ''
param teamsAppType = 'UserAssignedMSI'

param slackSigningSecret = readEnvironmentVariable('SLACK_SIGNING_SECRET', '')
param slackBotToken = readEnvironmentVariable('SLACK_BOT_TOKEN', '')
param teamsAppPassword = readEnvironmentVariable('TEAMS_APP_PASSWORD', '')
param pagerDutyApiToken = readEnvironmentVariable('PAGERDUTY_API_TOKEN', '')
param webhookSecret = readEnvironmentVariable('WEBHOOK_SECRET', '')
