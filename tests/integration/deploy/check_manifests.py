#!/usr/bin/python3
"""Checks docker-compose.yml, deploy/Dockerfile, deploy/k8s/ and docs/DEPLOYMENT.md against
the executables' real settings (their --help) and against each other:
- every compose service has a healthcheck; depends_on always waits for service_healthy;
- every RT_* variable and every --flag is one the process it is given to accepts;
- listen addresses are 0.0.0.0 inside containers and the probes ask the port listened on;
- no secret is committed (compose values, .gitignore, Kubernetes Secrets only as examples);
- Kubernetes objects refer to each other consistently (selectors, ports, ConfigMap and Secret
  keys, PDB and HPA targets), run as the image's non-root user, with resources and probes.
Needs RT_TEST_BIN (build dir) and RT_TEST_SRC (source dir); Debian's python3-yaml."""
import glob
import os
import re
import subprocess
import sys

import yaml

BIN = os.environ["RT_TEST_BIN"]
SRC = os.environ["RT_TEST_SRC"]
EXES = {"rt-edge": "edge/rt-edge", "rt-ingest": "ingest/rt-ingest", "rt-health": "broker/rt-health"}
LISTEN = {"rt-edge": "RT_EDGE_LISTEN", "rt-ingest": "RT_INGEST_LISTEN",
          "rt-health": "RT_HEALTH_LISTEN"}

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - " + what)
    return cond


def settings(exe):
    """flags, variables (with <VAR>_FILE for secrets) and secret variables of one executable"""
    out = subprocess.run([os.path.join(BIN, EXES[exe]), "--help"], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    flags, env, secrets = set(), set(), set()
    current = None
    for line in out.splitlines():
        m = re.match(r"^\s+(--[a-z0-9-]+)(?:\s+(RT_[A-Z0-9_]+))?", line)
        if m:
            flags.add(m.group(1))
            current = m.group(2)
            if current:
                env.add(current)
            continue
        m = re.search(r"secret \(also (RT_[A-Z0-9_]+_FILE)\)", line)
        if m and current:
            env.add(m.group(1))
            secrets.add(current)
    return {"flags": flags, "env": env, "secrets": secrets}


ACCEPT = {exe: settings(exe) for exe in EXES}
ALL_ENV = set().union(*(a["env"] for a in ACCEPT.values()))
ALL_SECRETS = set().union(*(a["secrets"] for a in ACCEPT.values()))
check(len(ALL_ENV) >= 10 and "RT_REDIS_URL" in ALL_ENV and "RT_JWT_SECRET" in ALL_SECRETS,
      "--help of the three executables parsed (%d variables, secrets %s)"
      % (len(ALL_ENV), ",".join(sorted(ALL_SECRETS))))


def check_args(where, exe, args):
    for a in args or []:
        a = str(a)
        if a.startswith("--"):
            flag = a.split("=", 1)[0]
            check(flag in ACCEPT[exe]["flags"], "%s: %s accepts %s" % (where, exe, flag))
        for var in re.findall(r"\bRT_[A-Z0-9_]+", a):
            check(var in ACCEPT[exe]["env"], "%s: %s accepts %s (in its command)"
                  % (where, exe, var))


def check_listen(where, exe, env):
    value = str(env.get(LISTEN[exe], ""))
    check(value.startswith("0.0.0.0:"), "%s: %s=%s listens on every interface"
          % (where, LISTEN[exe], value))
    return value.rsplit(":", 1)[-1]


def env_file_vars(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


# --- docker-compose.yml
with open(os.path.join(SRC, "docker-compose.yml")) as f:
    compose = yaml.safe_load(f)
services = compose.get("services") or {}
check(len(services) >= 7, "compose has %d services" % len(services))
by_exe = {}
env_files = {}
for name, svc in services.items():
    hc = svc.get("healthcheck") or {}
    test = hc.get("test")
    check(bool(test) and not hc.get("disable") and test not in (["NONE"], "NONE"),
          "compose %s has a healthcheck" % name)
    deps = svc.get("depends_on")
    if deps is not None:
        check(isinstance(deps, dict), "compose %s: depends_on is a map with conditions" % name)
        for dep, cond in (deps.items() if isinstance(deps, dict) else []):
            check(dep in services and (cond or {}).get("condition") == "service_healthy",
                  "compose %s waits for %s: service_healthy" % (name, dep))
    files = svc.get("env_file") or []
    for ef in [files] if isinstance(files, str) else files:
        env_files.setdefault(ef, []).append(name)
    env = svc.get("environment") or {}
    check(isinstance(env, dict), "compose %s: environment is a map" % name)
    for var in env:
        check(var not in ALL_SECRETS and "PASSWORD" not in var,
              "compose %s: %s is not a committed secret" % (name, var))
    cmd = svc.get("command") or []
    exe = cmd[0] if isinstance(cmd, list) and cmd and cmd[0] in EXES else None
    if "rt-broker" in str(svc.get("image", "")) or svc.get("build"):
        check(exe is not None, "compose %s runs one of %s" % (name, ",".join(EXES)))
    if not exe:
        for var in env:
            check(not var.startswith("RT_"), "compose %s: %s given to a non-rt service"
                  % (name, var))
        continue
    by_exe.setdefault(exe, []).append(name)
    check(svc.get("build", {}).get("dockerfile") == "deploy/Dockerfile",
          "compose %s is built from deploy/Dockerfile" % name)
    for var in env:
        check(var in ACCEPT[exe]["env"], "compose %s: %s accepts %s" % (name, exe, var))
    check_args("compose " + name, exe, cmd[1:])
    port = check_listen("compose " + name, exe, env)
    probe = " ".join(map(str, test if isinstance(test, list) else [test]))
    check("http://127.0.0.1:%s/readyz" % port in probe,
          "compose %s: healthcheck asks /readyz on port %s" % (name, port))
check(len(by_exe.get("rt-edge", [])) == 2 and len(by_exe.get("rt-ingest", [])) == 1
      and len(by_exe.get("rt-health", [])) == 1,
      "compose runs two rt-edge, one rt-ingest, one rt-health: %s" % by_exe)

images = {n: str(s.get("image", "")) for n, s in services.items()}
pg = [n for n, i in images.items() if i.startswith("postgres:15")]
check(len(pg) == 1, "compose has postgres:15")
if pg:
    pcmd = " ".join(map(str, services[pg[0]].get("command") or []))
    check("wal_level=logical" in pcmd and "max_replication_slots=" in pcmd,
          "postgres runs with wal_level=logical and max_replication_slots")
    vols = [str(v) for v in services[pg[0]].get("volumes") or []]
    check(any(v.startswith("./deploy/sql:/docker-entrypoint-initdb.d") for v in vols)
          and glob.glob(os.path.join(SRC, "deploy/sql/*.sql")),
          "postgres loads deploy/sql/*.sql from /docker-entrypoint-initdb.d")
check(any(i.startswith("redis:7") for i in images.values()), "compose has redis:7")
named = set((compose.get("volumes") or {}).keys())
for name, svc in services.items():
    for v in svc.get("volumes") or []:
        srcvol = str(v).split(":", 1)[0]
        if not srcvol.startswith((".", "/")):
            check(srcvol in named, "compose %s: volume %s is declared" % (name, srcvol))
        else:
            check(os.path.exists(os.path.join(SRC, srcvol)),
                  "compose %s: mounted %s exists" % (name, srcvol))
for n in pg + [n for n, i in images.items() if i.startswith("redis:")]:
    check(any(str(v).split(":", 1)[0] in named for v in services[n].get("volumes") or []),
          "compose %s keeps its data in a named volume" % n)

lb = [n for n, i in images.items() if i.startswith("haproxy:")]
check(len(lb) == 1, "compose has haproxy")
if lb:
    lenv = services[lb[0]].get("environment") or {}
    check(any("deploy/haproxy.cfg:" in str(v) for v in services[lb[0]].get("volumes") or []),
          "haproxy mounts deploy/haproxy.cfg")
    targets = sorted(str(v) for k, v in lenv.items() if re.match(r"LB_EDGE\d+_ADDR$", k))
    want = sorted("%s:%s" % (n, str((services[n].get("environment") or {})
                                    .get(LISTEN["rt-edge"], "")).rsplit(":", 1)[-1])
                  for n in by_exe.get("rt-edge", []))
    check(targets == want and want, "haproxy's edges %s are the rt-edge services %s"
          % (targets, want))
    with open(os.path.join(SRC, "deploy/haproxy.cfg")) as f:
        cfg_vars = set(re.findall(r"\$\{(LB_[A-Z0-9_]+)", f.read()))
    check(set(lenv) <= cfg_vars, "haproxy: %s are all used by deploy/haproxy.cfg" % sorted(lenv))

for ef, users in env_files.items():
    example = os.path.join(SRC, ef + ".example")
    check(os.path.exists(example), "env_file %s has a committed example %s.example" % (ef, ef))
    if not os.path.exists(example):
        continue
    exes = {services[u]["command"][0] for u in users if u in sum(by_exe.values(), [])}
    for var in env_file_vars(example):
        if var.startswith("RT_"):
            who = [e for e in exes if var in ACCEPT[e]["env"]]
            check(who, "%s.example: %s is accepted by %s" % (ef, var, who or "no service"))
with open(os.path.join(SRC, ".gitignore")) as f:
    ignored = set(line.strip().lstrip("/") for line in f)
for ef in list(env_files) + [".env"]:
    check(ef in ignored, "%s is in .gitignore" % ef)
try:
    tracked = subprocess.run(["git", "-C", SRC, "ls-files"], capture_output=True, text=True,
                             timeout=10).stdout.split()
except OSError:
    tracked = []
for ef in list(env_files) + [".env"]:
    check(ef not in tracked, "%s is not committed" % ef)

# --- deploy/Dockerfile
with open(os.path.join(SRC, "deploy/Dockerfile")) as f:
    dockerfile = re.sub(r"\\\n", " ", f.read())
stages = re.split(r"^FROM\s", dockerfile, flags=re.M)[1:]
final = stages[-1] if stages else ""
users = re.findall(r"^USER\s+(\S+)", final, flags=re.M)
uid = users[-1].split(":")[0] if users else ""
check(uid.isdigit() and uid != "0", "Dockerfile: final stage runs as numeric non-root USER %s"
      % uid)
for m in re.finditer(r"^ENV\s+(.*)$", final, flags=re.M):
    for var, value in re.findall(r"(RT_[A-Z0-9_]+)=(\S+)", m.group(1)):
        check(var in ALL_ENV, "Dockerfile: ENV %s is a real setting" % var)
        if var.endswith("_LISTEN"):
            check(value.startswith("0.0.0.0:"), "Dockerfile: %s=%s" % (var, value))
for m in re.finditer(r"^(?:CMD|ENTRYPOINT)\s+(\[.*\])\s*$", final, flags=re.M):
    argv = yaml.safe_load(m.group(1))
    check(argv and argv[0] in EXES, "Dockerfile: %s runs one of the executables" % argv)
    if argv and argv[0] in EXES:
        check_args("Dockerfile", argv[0], argv[1:])
check(not re.search(r"-dev\b", "\n".join(re.findall(r"^RUN .*$", final, flags=re.M))),
      "Dockerfile: no -dev package in the final stage")

# --- deploy/k8s
docs = []
for path in sorted(glob.glob(os.path.join(SRC, "deploy/k8s/*.yaml"))
                   + glob.glob(os.path.join(SRC, "deploy/k8s/examples/*.yaml"))):
    with open(path) as f:
        for d in yaml.safe_load_all(f):
            if d:
                docs.append((os.path.relpath(path, SRC), d))
KINDS = {"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
         "PodDisruptionBudget": "policy/v1", "HorizontalPodAutoscaler": "autoscaling/v2"}
objs = {}
for path, d in docs:
    kind, name = d.get("kind"), (d.get("metadata") or {}).get("name")
    check(kind in KINDS and d.get("apiVersion") == KINDS[kind] and name,
          "%s: %s/%s %s" % (path, d.get("apiVersion"), kind, name))
    objs[(kind, name)] = (path, d)
    if kind == "Secret":
        check("/examples/" in path, "%s: Secret %s is only an example" % (path, name))


def kdata(kind, name):
    o = objs.get((kind, name))
    if not o:
        return None
    return dict(o[1].get("data") or {}, **(o[1].get("stringData") or {}))


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


deploys = {}
for (kind, name), (path, d) in objs.items():
    if kind != "Deployment":
        continue
    spec = d["spec"]
    tmpl = spec["template"]
    labels = tmpl["metadata"]["labels"]
    check(matches(spec["selector"]["matchLabels"], labels),
          "%s: Deployment %s selector matches its pods" % (path, name))
    pod = tmpl["spec"]
    for c in pod["containers"]:
        where = "%s %s" % (path, c["name"])
        cmd = c.get("command") or []
        exe = cmd[0] if cmd and cmd[0] in EXES else None
        if not check(exe, "%s runs one of the executables (%s)" % (where, cmd)):
            continue
        deploys[exe] = (path, d, c)
        check_args(where, exe, cmd[1:] + (c.get("args") or []))
        env = {}
        for e in c.get("env") or []:
            check(e["name"] in ACCEPT[exe]["env"], "%s: %s accepts %s" % (where, exe, e["name"]))
            ref = (e.get("valueFrom") or {}).get("secretKeyRef") or \
                (e.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                kind_ref = "Secret" if "secretKeyRef" in e["valueFrom"] else "ConfigMap"
                data = kdata(kind_ref, ref["name"])
                check(data is not None and ref["key"] in data,
                      "%s: %s %s has key %s" % (where, kind_ref, ref["name"], ref["key"]))
            else:
                check(e["name"] not in ACCEPT[exe]["secrets"],
                      "%s: secret %s comes from a Secret" % (where, e["name"]))
                env[e["name"]] = e.get("value", "")
        for ef in c.get("envFrom") or []:
            ref = ef.get("configMapRef") or ef.get("secretRef")
            kind_ref = "ConfigMap" if "configMapRef" in ef else "Secret"
            data = kdata(kind_ref, ref["name"])
            if check(data is not None, "%s: %s %s exists" % (where, kind_ref, ref["name"])):
                for var in data:
                    check(var in ACCEPT[exe]["env"], "%s: %s accepts %s (from %s %s)"
                          % (where, exe, var, kind_ref, ref["name"]))
                    env[var] = data[var]
        port = check_listen(where, exe, env)
        ports = {str(p.get("name")): str(p["containerPort"]) for p in c.get("ports") or []}
        for probe, path_want in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            hg = (c.get(probe) or {}).get("httpGet") or {}
            pport = str(hg.get("port"))
            check(hg.get("path") == path_want and ports.get(pport, pport) == port,
                  "%s: %s is GET %s on the listen port %s" % (where, probe, path_want, port))
        res = c.get("resources") or {}
        check(all(res.get(k, {}).get(r) for k in ("requests", "limits") for r in ("cpu", "memory")),
              "%s: cpu and memory requests and limits" % where)
        psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}
        check(csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True
              and str(csc.get("runAsUser", psc.get("runAsUser"))) == uid,
              "%s: runAsNonRoot as the image's user %s" % (where, uid))
        check(csc.get("allowPrivilegeEscalation") is False, "%s: no privilege escalation" % where)
for exe in EXES:
    check(exe in deploys, "k8s: a Deployment runs %s" % exe)
for exe, n in (("rt-ingest", 2), ("rt-health", 2)):
    if exe in deploys:
        check(deploys[exe][1]["spec"].get("replicas") == n, "k8s: %s has %d replicas" % (exe, n))


def targets(kind):
    return [(p, d) for (k, _), (p, d) in objs.items() if k == kind]


for exe, (path, d, c) in deploys.items():
    labels = d["spec"]["template"]["metadata"]["labels"]
    svcs = [s for _, s in targets("Service") if matches(s["spec"].get("selector"), labels)]
    ports = {str(p.get("name")) for p in c.get("ports") or []} | \
        {str(p["containerPort"]) for p in c.get("ports") or []}
    check(svcs and all(str(p["targetPort"]) in ports for s in svcs for p in s["spec"]["ports"]),
          "k8s: a Service selects %s and targets its port" % exe)
    pdbs = [p for _, p in targets("PodDisruptionBudget")
            if matches(p["spec"]["selector"]["matchLabels"], labels)]
    check(pdbs or exe != "rt-edge", "k8s: a PodDisruptionBudget covers %s" % exe)
    if exe != "rt-edge":
        continue
    check(d["spec"].get("replicas", 1) >= 2, "k8s: rt-edge runs at least two replicas")
    pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command") or []
    sleep = int(pre[1]) if len(pre) == 2 and pre[0] == "sleep" and pre[1].isdigit() else 0
    grace = d["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
    check(sleep > 0 and grace >= sleep + 30,
          "k8s: rt-edge preStop sleep %d s, terminationGracePeriodSeconds %d >= sleep + 30 s drain"
          % (sleep, grace))
    hpas = [h for _, h in targets("HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]["kind"] == "Deployment"
            and h["spec"]["scaleTargetRef"]["name"] == d["metadata"]["name"]]
    check(hpas and any(m.get("resource", {}).get("name") == "cpu"
                       for m in hpas[0]["spec"].get("metrics", [])),
          "k8s: an HPA scales rt-edge on CPU")
    check(hpas and hpas[0]["spec"].get("minReplicas", 1) >= 2, "k8s: the HPA keeps two edges")

# --- docs/DEPLOYMENT.md names only real settings
with open(os.path.join(SRC, "docs/DEPLOYMENT.md")) as f:
    doc = f.read()
for var in sorted(set(re.findall(r"\bRT_[A-Z0-9_]+\b", doc))):
    check(var in ALL_ENV, "docs/DEPLOYMENT.md: %s is a real setting" % var)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
