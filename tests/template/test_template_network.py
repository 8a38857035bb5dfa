"""The render tasks' network in both shapes of the translated template.

No SubnetIds (the default, what `sam deploy --guided` gives when Enter is pressed): the stack makes a
small VPC - two public subnets in two zones, an internet gateway, S3 and DynamoDB gateway endpoints,
an egress-only security group - and RunTask uses it with a public IP. SubnetIds given: none of that
is created, and RunTask uses the parameters as before.

CloudFormation decides the shape from the parameters, so the tests evaluate the template's
Conditions for a set of parameter values (a small evaluator for the functions the template uses).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib

import pytest
from template_under_test import REPO

NETWORK = {
    "TaskVpc": "AWS::EC2::VPC",
    "TaskInternetGateway": "AWS::EC2::InternetGateway",
    "TaskInternetGatewayAttachment": "AWS::EC2::VPCGatewayAttachment",
    "TaskRouteTable": "AWS::EC2::RouteTable",
    "TaskDefaultRoute": "AWS::EC2::Route",
    "TaskSubnetA": "AWS::EC2::Subnet",
    "TaskSubnetB": "AWS::EC2::Subnet",
    "TaskSubnetARoutes": "AWS::EC2::SubnetRouteTableAssociation",
    "TaskSubnetBRoutes": "AWS::EC2::SubnetRouteTableAssociation",
    "TaskS3Endpoint": "AWS::EC2::VPCEndpoint",
    "TaskDynamoDbEndpoint": "AWS::EC2::VPCEndpoint",
    "TaskSecurityGroup": "AWS::EC2::SecurityGroup",
}
NETWORK_PARAMETERS = ("SubnetIds", "SecurityGroupIds", "AssignPublicIp")


def ref(name: str) -> dict:
    return {"Ref": name}


class DanglingReference(AssertionError):
    """A resource or output that exists in this shape refers to one that does not."""


class Shape:
    """The translated template as CloudFormation deploys it for one set of parameter values.

    Refs to parameters resolve to their values (list parameters as lists, split on commas the way
    CloudFormation splits them: "" is [""]); Refs and GetAtts of resources stay symbolic, "<Name>"
    and "<Name.Attribute>", and must name a resource this shape creates.
    """

    def __init__(self, template: dict, values: dict[str, str]):
        self.template = template
        declared = template["Parameters"]
        assert set(values) <= set(declared), sorted(set(values) - set(declared))
        self.parameters = {}
        for name, spec in declared.items():
            value = values.get(name, spec.get("Default", f"<{name}>"))
            if spec["Type"].startswith(("List<", "CommaDelimitedList")) and isinstance(value, str):
                value = value.split(",")
            self.parameters[name] = value

    def holds(self, condition: str | None) -> bool:
        return condition is None or bool(self.resolve(self.template["Conditions"][condition]))

    def creates(self, logical_id: str) -> bool:
        return self.holds(self.template["Resources"][logical_id].get("Condition"))

    @property
    def resources(self) -> dict[str, dict]:
        return {name: r for name, r in self.template["Resources"].items() if self.creates(name)}

    @property
    def outputs(self) -> dict[str, dict]:
        return {name: o for name, o in self.template.get("Outputs", {}).items() if self.holds(o.get("Condition"))}

    def _resource(self, logical_id: str) -> str:
        if not self.creates(logical_id):
            raise DanglingReference(f"{logical_id} is not created in this shape")
        return logical_id

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(item) for key, item in value.items()}
        ((key, arg),) = value.items()
        if key == "Ref":
            if arg in self.parameters:
                return self.parameters[arg]
            if arg.startswith("AWS::"):
                return f"<{arg}>"
            return f"<{self._resource(arg)}>"
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return f"<{self._resource(logical_id)}.{attribute}>"
        if key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            local = {} if isinstance(arg, str) else arg[1]
            for name in re.findall(r"\$\{([A-Za-z0-9]+)[.}]", text):
                if name not in local and name not in self.parameters:
                    self._resource(name)
            return {key: text if isinstance(arg, str) else [text, self.resolve(local)]}
        if key == "Fn::Join":
            separator, items = arg
            return separator.join(str(item) for item in self.resolve(items))
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::If":
            condition, if_true, if_false = arg
            return self.resolve(if_true if self.holds(condition) else if_false)
        if key == "Condition":
            return self.holds(arg)
        return {key: self.resolve(arg)}  # Fn::Select, Fn::FindInMap, ...: kept, their arguments checked

    def substitutions(self) -> dict:
        return self.resolve(self.template["Resources"]["ConvertStateMachine"]["Properties"]["DefinitionSubstitutions"])


def failed_rules(template: dict, values: dict[str, str]) -> list[str]:
    """The Rules' assertions that fail for these parameter values (CloudFormation's rule functions)."""
    shape = Shape(template, values)

    def evaluate(value):
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return shape.parameters[arg]
            if key == "Fn::Not":
                return not evaluate(arg[0])
            if key == "Fn::EachMemberEquals":
                members, wanted = evaluate(arg[0]), arg[1]
                return all(member == wanted for member in members)
            if key == "Fn::Contains":
                return arg[1] in evaluate(arg[0])
            raise AssertionError(f"no evaluator for {key}")
        return value

    failed = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"]):
            continue
        failed += [f"{name}: {a['AssertDescription']}" for a in rule["Assertions"] if not evaluate(a["Assert"])]
    return failed


DEFAULT = {}  # what --guided gives when Enter is pressed at every network question
GIVEN_NETWORK = {
    "SubnetIds": "subnet-0a1b2c,subnet-0d4e5f",
    "SecurityGroupIds": "sg-0123abcd",
    "AssignPublicIp": "DISABLED",
}


@pytest.fixture
def stack_network(cfn_template) -> Shape:
    return Shape(cfn_template, {"AllowedOrigins": "https://app.example.com", **DEFAULT})


@pytest.fixture
def given_network(cfn_template) -> Shape:
    return Shape(cfn_template, {"AllowedOrigins": "https://app.example.com", **GIVEN_NETWORK})


# ---------------------------------------------------------------- parameters


def test_network_parameters_are_optional_lists(sam_template):
    parameters = sam_template["Parameters"]
    for name, prefix in (("SubnetIds", "subnet-"), ("SecurityGroupIds", "sg-")):
        spec = parameters[name]
        # List<AWS::EC2::Subnet::Id> cannot be empty: CloudFormation looks every value up
        assert spec["Type"] == "CommaDelimitedList"
        assert spec["Default"] == ""
        pattern = re.compile(spec["AllowedPattern"])  # CloudFormation matches each list member
        assert pattern.fullmatch("") and pattern.fullmatch(prefix + "0123456789abcdef0")
        assert not pattern.fullmatch("sg-0123" if prefix == "subnet-" else "subnet-0123")
        assert not pattern.fullmatch(" " + prefix + "0123")
    assert parameters["AssignPublicIp"]["Default"] == "DISABLED"


def test_the_empty_default_means_the_stacks_own_network_however_the_list_is_read(cfn_template):
    condition = cfn_template["Conditions"]["CreateTaskNetwork"]
    assert condition == {"Fn::Equals": [{"Fn::Join": ["", ref("SubnetIds")]}, ""]}
    for empty in ([""], []):  # Ref of an empty CommaDelimitedList, whichever CloudFormation hands over
        shape = Shape(cfn_template, {})
        shape.parameters["SubnetIds"] = empty
        assert shape.holds("CreateTaskNetwork")
    assert not Shape(cfn_template, {"SubnetIds": "subnet-0a1b2c"}).holds("CreateTaskNetwork")


def test_a_deploy_asks_no_network_question(sam_template):
    """Every parameter without a default is answered in samconfig.toml, in both environments."""
    required = {name for name, spec in sam_template["Parameters"].items() if "Default" not in spec}
    assert not required & set(NETWORK_PARAMETERS[:2])
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    for env in ("default", "prod"):
        overrides = dict(re.findall(r'(\w+)="([^"]*)"', config[env]["deploy"]["parameters"]["parameter_overrides"]))
        assert required <= set(overrides), env
        assert not overrides.get("SubnetIds") and not overrides.get("SecurityGroupIds"), env


@pytest.mark.parametrize(
    ("values", "failures"),
    [
        (DEFAULT, []),
        (GIVEN_NETWORK, []),
        ({"SubnetIds": "subnet-0a1b2c"}, ["SecurityGroupsWithOwnSubnets"]),
        ({"SecurityGroupIds": "sg-0123abcd"}, ["NoSecurityGroupsWithoutSubnets"]),
    ],
)
def test_rules_refuse_half_a_network(cfn_template, values, failures):
    failed = failed_rules(cfn_template, {"AllowedOrigins": "https://app.example.com", **values})
    assert [f.split(":")[0] for f in failed] == failures


# ---------------------------------------------------------------- no SubnetIds: the stack's own network


def test_stack_network_creates_exactly_the_network_resources(stack_network, cfn_resources):
    conditional = {name: r["Type"] for name, r in cfn_resources.items() if r.get("Condition") == "CreateTaskNetwork"}
    assert conditional == NETWORK
    assert set(NETWORK) <= set(stack_network.resources)


def test_stack_network_is_two_public_subnets_in_two_zones(stack_network):
    resources = stack_network.resources
    vpc = resources["TaskVpc"]["Properties"]
    assert vpc["EnableDnsSupport"] is True and vpc["EnableDnsHostnames"] is True
    vpc_cidr = ipaddress.ip_network(vpc["CidrBlock"])
    assert vpc_cidr.is_private
    subnets = [resources[name]["Properties"] for name in ("TaskSubnetA", "TaskSubnetB")]
    zones = [subnet["AvailabilityZone"] for subnet in subnets]
    assert zones == [{"Fn::Select": [index, {"Fn::GetAZs": ""}]} for index in (0, 1)]
    cidrs = [ipaddress.ip_network(subnet["CidrBlock"]) for subnet in subnets]
    assert all(cidr.subnet_of(vpc_cidr) for cidr in cidrs) and not cidrs[0].overlaps(cidrs[1])
    for subnet in subnets:
        assert subnet["VpcId"] == ref("TaskVpc")
        assert subnet["MapPublicIpOnLaunch"] is False  # a public IP only where RunTask asks for one


def test_stack_network_routes_to_the_internet_gateway(stack_network):
    resources = stack_network.resources
    attachment = resources["TaskInternetGatewayAttachment"]["Properties"]
    assert attachment == {"VpcId": ref("TaskVpc"), "InternetGatewayId": ref("TaskInternetGateway")}
    assert resources["TaskRouteTable"]["Properties"]["VpcId"] == ref("TaskVpc")
    route = resources["TaskDefaultRoute"]
    assert route["Properties"] == {
        "RouteTableId": ref("TaskRouteTable"),
        "DestinationCidrBlock": "0.0.0.0/0",
        "GatewayId": ref("TaskInternetGateway"),
    }
    assert route["DependsOn"] in ("TaskInternetGatewayAttachment", ["TaskInternetGatewayAttachment"])
    associations = {
        r["Properties"]["SubnetId"]["Ref"]: r["Properties"]["RouteTableId"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SubnetRouteTableAssociation"
    }
    assert associations == {"TaskSubnetA": ref("TaskRouteTable"), "TaskSubnetB": ref("TaskRouteTable")}


@pytest.mark.parametrize(("endpoint", "service"), [("TaskS3Endpoint", "s3"), ("TaskDynamoDbEndpoint", "dynamodb")])
def test_stack_network_has_gateway_endpoints_on_its_route_table(stack_network, endpoint, service):
    properties = stack_network.resources[endpoint]["Properties"]
    assert properties["VpcEndpointType"] == "Gateway"
    assert properties["VpcId"] == ref("TaskVpc")
    assert properties["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}." + service}
    assert properties["RouteTableIds"] == [ref("TaskRouteTable")]


def test_stack_security_group_has_https_egress_and_no_ingress(stack_network, cfn_resources):
    group = stack_network.resources["TaskSecurityGroup"]["Properties"]
    assert group["VpcId"] == ref("TaskVpc")
    assert "SecurityGroupIngress" not in group
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupEgress"]] == [
        ("tcp", 443, 443, "0.0.0.0/0")
    ]
    assert all(rule.get("Description") for rule in group["SecurityGroupEgress"])
    assert not [name for name, r in cfn_resources.items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]


def test_stack_network_runs_the_task_in_its_subnets_with_a_public_ip(cfn_template):
    for assign in ("DISABLED", "ENABLED"):  # the parameter only applies to given subnets
        substitutions = Shape(cfn_template, {"AssignPublicIp": assign}).substitutions()
        assert substitutions["SubnetIds"] == "<TaskSubnetA>,<TaskSubnetB>"
        assert substitutions["SecurityGroupIds"] == "<TaskSecurityGroup.GroupId>"
        assert substitutions["AssignPublicIp"] == "ENABLED"


def test_stack_network_outputs(stack_network):
    outputs = {name: stack_network.resolve(o["Value"]) for name, o in stack_network.outputs.items()}
    assert outputs["RenderSubnetIds"] == "<TaskSubnetA>,<TaskSubnetB>"
    assert outputs["RenderVpcId"] == "<TaskVpc>"
    assert outputs["RenderSecurityGroupId"] == "<TaskSecurityGroup.GroupId>"


# ---------------------------------------------------------------- SubnetIds given: the parameters, no network


def test_given_subnets_create_no_network_resources(given_network):
    assert not set(NETWORK) & set(given_network.resources)
    assert not [name for name, r in given_network.resources.items() if r["Type"].startswith("AWS::EC2::")]
    assert not {"RenderVpcId", "RenderSecurityGroupId"} & set(given_network.outputs)


@pytest.mark.parametrize("assign", ["DISABLED", "ENABLED"])
def test_given_subnets_are_the_substitutions(cfn_template, assign):
    values = {**GIVEN_NETWORK, "SecurityGroupIds": "sg-01,sg-02", "AssignPublicIp": assign}
    substitutions = Shape(cfn_template, values).substitutions()
    assert substitutions["SubnetIds"] == "subnet-0a1b2c,subnet-0d4e5f"
    assert substitutions["SecurityGroupIds"] == "sg-01,sg-02"
    assert substitutions["AssignPublicIp"] == assign
    raw = cfn_template["Resources"]["ConvertStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert raw["SubnetIds"]["Fn::If"][2] == {"Fn::Join": [",", ref("SubnetIds")]}
    assert raw["SecurityGroupIds"]["Fn::If"][2] == {"Fn::Join": [",", ref("SecurityGroupIds")]}
    assert raw["AssignPublicIp"]["Fn::If"][2] == ref("AssignPublicIp")


def test_given_subnets_output(given_network):
    assert given_network.resolve(given_network.outputs["RenderSubnetIds"]["Value"]) == "subnet-0a1b2c,subnet-0d4e5f"


# ---------------------------------------------------------------- both shapes


@pytest.mark.parametrize("values", [DEFAULT, GIVEN_NETWORK], ids=["stack-network", "given-subnets"])
def test_nothing_refers_to_a_resource_the_shape_does_not_create(cfn_template, values):
    shape = Shape(cfn_template, {"AllowedOrigins": "https://app.example.com", **values})
    for name, resource in shape.resources.items():
        shape.resolve(resource.get("Properties", {}))
        for dependency in (
            [resource["DependsOn"]] if isinstance(resource.get("DependsOn"), str) else resource.get("DependsOn", [])
        ):
            assert shape.creates(dependency), f"{name} depends on {dependency}"
    for output in shape.outputs.values():
        shape.resolve(output["Value"])
