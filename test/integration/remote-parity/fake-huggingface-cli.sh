#!/bin/bash
# Stand-in for `huggingface-cli upload|download --quiet` on a machine without network: the Hub is
# the directory @HUB@ (<hub>/<repo type>/<owner>/<name>/<path in repo>). It prints what
# huggingface_hub 0.2x prints and fails the way it does (an uncaught exception: a traceback on
# stderr, exit status 1), line for line as the simulator's hub CLI (src/sim/hosts/hub-cli.ts).
hub=@HUB@
endpoint=https://huggingface.co
case $hub in
  /*) ;;
  *) echo "fake huggingface-cli: the hub directory was not filled in" >&2; exit 2 ;;
esac

command=$1
shift
repo_type=model
local_dir=
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --repo-type) repo_type=$2; shift 2 ;;
    --local-dir) local_dir=$2; shift 2 ;;
    --quiet | --private) shift ;;
    -*) echo "fake huggingface-cli: unexpected option $1" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
case $repo_type in
  model) prefix= ;;
  dataset) prefix=datasets/ ;;
  *) echo "fake huggingface-cli: unexpected repo type $repo_type" >&2; exit 2 ;;
esac
repo=${positional[0]}
store=$hub/$repo_type/$repo

fail() {
  printf '%s\n' 'Traceback (most recent call last):' \
    '  File "/usr/local/bin/huggingface-cli", line 8, in <module>' \
    '    sys.exit(main())' >&2
  printf '%s\n' "$@" >&2
  exit 1
}

has_token() {
  [ -n "${HF_TOKEN:-}" ] || [ -s "$HOME/.cache/huggingface/token" ]
}

case $command in
  upload)
    local_path=${positional[1]}
    path=${positional[2]}
    [ -f "$local_path" ] || fail "FileNotFoundError: No such file or directory: '$local_path'."
    has_token || fail "huggingface_hub.errors.HfHubHTTPError: 401 Client Error: Unauthorized for url: $endpoint/api/repos/create" \
      '' 'Invalid username or password.'
    mkdir -p "$(dirname "$store/$path")" && cp --sparse=always "$local_path" "$store/$path" || exit 1
    echo "$endpoint/$prefix$repo/blob/main/$path"
    ;;
  download)
    path=${positional[1]}
    url=$endpoint/$prefix$repo/resolve/main/$path
    repo_not_found() {
      fail "huggingface_hub.errors.RepositoryNotFoundError: $1 Client Error." '' \
        "Repository Not Found for url: $url." \
        'Please make sure you specified the correct `repo_id` and `repo_type`.' \
        'If you are trying to access a private or gated repo, make sure you are authenticated.' "${@:2}"
    }
    has_token || repo_not_found 401 'Invalid username or password.'
    [ -d "$store" ] || repo_not_found 404
    [ -f "$store/$path" ] || fail 'huggingface_hub.errors.EntryNotFoundError: 404 Client Error.' '' \
      "Entry Not Found for url: $url."
    mkdir -p "$(dirname "$local_dir/$path")" && cp --sparse=always "$store/$path" "$local_dir/$path" ||
      fail 'OSError: [Errno 28] No space left on device'
    echo "$local_dir/$path"
    ;;
  *)
    echo "fake huggingface-cli: unexpected command $command" >&2
    exit 2
    ;;
esac
