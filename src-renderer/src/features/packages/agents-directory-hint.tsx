// Where agent packages go, said where a new user looks first (the empty Fleet and Packages
// views): the AMS's agents directory with a copy button, and a valid .env.discovery to start from.
import { useConsole } from '../../store/context';
import { CopyButton } from '../common/copy-button';
import { useResource } from '../common/use-resource';

export function AgentsDirectoryHint() {
  const { client } = useConsole();
  const dir = useResource(() => client.packages.directory(), [client]);
  const data = dir.state.data;
  if (!data) {
    return (
      <p>
        Put an agent package — a folder with an <code>.env.discovery</code> file — in the AMS&apos;s agents directory (by default <code>agents</code> in
        its data directory; the AMS prints it when it starts).
        {dir.state.status === 'loading' ? ' Looking up where it is…' : ''}
      </p>
    );
  }
  return (
    <div className="agents-dir-hint" data-testid="agents-dir-hint">
      <p>Put an agent package — one folder per agent, with an <code>.env.discovery</code> file and the agent&apos;s program — in the AMS&apos;s agents directory:</p>
      <div className="copy-row">
        <code className="secret path" data-testid="agents-dir">
          {data.path}
        </code>
        <CopyButton text={data.path} label="Copy path" />
      </div>
      <p>
        The AMS notices a new package within a second. A valid <code>.env.discovery</code> looks like this (names, a semantic version, NATS topics):
      </p>
      <pre className="code example-file" data-testid="env-discovery-example">
        {data.env_discovery_example}
      </pre>
      <div className="copy-row">
        <CopyButton text={data.env_discovery_example} label="Copy example" />
      </div>
    </div>
  );
}
