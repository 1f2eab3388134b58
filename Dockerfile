# syntax=docker/dockerfile:1
# AgentStack images: one Dockerfile, one shared build, one final target per host (issue 4).
#
#   docker build --target commands    -t agentstack/commands:dev    .   # collector + RecordSpans handlers
#   docker build --target projections -t agentstack/projections:dev .   # projection worker
#   docker build --target queries     -t agentstack/queries:dev     .   # query API, admin API, dashboard
#   docker build --target server      -t agentstack/server:dev      .   # all in one (also the default target)
#
# Why one file: the four hosts are the same libraries composed differently (AgentStack.Hosting), so the
# `build` stage restores and publishes all four once and each target copies only its own output.
# BuildKit builds just the stages a target needs and caches them between targets, so building all four
# (docker compose build does) compiles the code once. Only the targets that need them take the web UI
# (queries, server) and libchdb.so (server: the thin hosts run on a ClickHouse server, and the analytics
# code loads chDB only when AgentStack:Analytics:Provider is ChDb).

# .NET 10 images are Ubuntu 24.04 (noble); the tag names the OS so a base change is a visible edit.
# The official .NET images are served by Microsoft's own container registry, not Docker's default one:
# DOTNET_REGISTRY names it (the compose file and scripts/build-images.sh require it; no registry host
# is written into this repository).
ARG DOTNET_REGISTRY
ARG DOTNET_SDK_IMAGE=${DOTNET_REGISTRY}/dotnet/sdk:10.0-noble
ARG DOTNET_RUNTIME_IMAGE=${DOTNET_REGISTRY}/dotnet/aspnet:10.0-noble
# Angular 21 needs Node 20.19 or newer (the SDK image's apt Node is older), and chDB comes from npm.
ARG NODE_IMAGE=node:20.19-bookworm-slim

# Project files only, so that the restore below is cached until a project or package version changes.
FROM ${DOTNET_SDK_IMAGE} AS projects
WORKDIR /src
COPY . .
RUN mkdir /projects \
 && find . \( -name '*.csproj' -o -name 'Directory.*.props' -o -name global.json -o -name nuget.config \) \
      -not -path './web-ui/*' -exec cp --parents {} /projects/ \;

FROM ${DOTNET_SDK_IMAGE} AS build
# curl, unzip and python3: scripts/setup-nuget-shims.sh (a no-op where the NuGet registry is complete).
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl unzip python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/setup-nuget-shims.sh scripts/
COPY --from=projects /projects/ ./
RUN scripts/setup-nuget-shims.sh \
 && for project in Commands/AgentStack.Commands.Host Projections/AgentStack.Projections.Host \
                   Queries/AgentStack.Queries.Host Queries/AgentStack.Server; do \
      dotnet restore "$project" || exit 1; \
    done
COPY . .
RUN dotnet publish Commands/AgentStack.Commands.Host -c Release --no-restore -p:UseAppHost=false -o /out/commands \
 && dotnet publish Projections/AgentStack.Projections.Host -c Release --no-restore -p:UseAppHost=false -o /out/projections \
 && dotnet publish Queries/AgentStack.Queries.Host -c Release --no-restore -p:UseAppHost=false -o /out/queries \
 && dotnet publish Queries/AgentStack.Server -c Release --no-restore -p:UseAppHost=false -o /out/server

# The dashboard (what scripts/setup-web-ui.sh does, split so npm install is cached): web-ui/dist/browser.
FROM ${NODE_IMAGE} AS web-ui
WORKDIR /src/web-ui
COPY web-ui/package.json web-ui/package-lock.json ./
# npm install, not npm ci: the lock lacks other platforms' optional binaries.
RUN npm install --no-audit --no-fund --loglevel=error
COPY web-ui/ ./
RUN npx --no-install ng build

# libchdb.so (~570 MB), pinned by scripts/setup-chdb.sh; only the all-in-one image takes it.
FROM ${NODE_IMAGE} AS chdb
WORKDIR /src
COPY scripts/setup-chdb.sh scripts/
RUN scripts/setup-chdb.sh

# What every host image shares. Non-root (the image's `app` user); data, if any, under /data.
# Health: GET /health/ready. The aspnet image has neither curl nor wget, but it has bash, whose
# /dev/tcp is enough for one HTTP/1.1 request (a chiseled base would not have bash).
FROM ${DOTNET_RUNTIME_IMAGE} AS runtime
WORKDIR /app
RUN mkdir /data && chown "$APP_UID" /data
USER $APP_UID
ENV ASPNETCORE_HTTP_PORTS=8080 \
    AgentStack__DataDirectory=/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/ready HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

FROM runtime AS commands
COPY --from=build /out/commands ./
# 4317: OTLP/gRPC (AgentStack:Otlp:GrpcPort); 8080: /v1/spans, OTLP/HTTP /v1/traces, health.
EXPOSE 4317
ENTRYPOINT ["dotnet", "AgentStack.Commands.Host.dll"]

FROM runtime AS projections
COPY --from=build /out/projections ./
# No libchdb.so in this image: default to the ClickHouse server, so a missing connection string is
# reported as such rather than as a missing chDB library.
ENV AgentStack__Analytics__Provider=ClickHouse
ENTRYPOINT ["dotnet", "AgentStack.Projections.Host.dll"]

FROM runtime AS queries
COPY --from=build /out/queries ./
# Found by the dashboard host as web-ui/dist/browser above the app directory (DashboardHosting).
COPY --from=web-ui /src/web-ui/dist/browser ./web-ui/dist/browser
ENV AgentStack__Analytics__Provider=ClickHouse
ENTRYPOINT ["dotnet", "AgentStack.Queries.Host.dll"]

# Last, so a plain `docker build .` gives the all-in-one server: embedded default (SQLite + chDB +
# in-memory bus) under /data unless configured for the distributed adapters.
FROM runtime AS server
COPY --from=build /out/server ./
COPY --from=web-ui /src/web-ui/dist/browser ./web-ui/dist/browser
COPY --from=chdb /src/.deps/chdb/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so ./libchdb.so
ENV AgentStack__ChDb__LibraryPath=/app/libchdb.so
VOLUME /data
EXPOSE 4317
ENTRYPOINT ["dotnet", "AgentStack.Server.dll"]
