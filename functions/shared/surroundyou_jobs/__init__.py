"""The job model every SurroundYou component shares: states, legal transitions, S3 keys and the
DynamoDB item shape. Imported by the Lambdas (as a layer), the Fargate task and the local stack."""
