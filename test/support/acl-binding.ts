/** One ALLOW binding as scripts/kafka/acls.js derives it from the topic table. */
export interface AclBinding {
  principal: string;
  host: string;
  resourceType: string;
  patternType: string;
  name: string;
  operation: string;
  permission: string;
}
